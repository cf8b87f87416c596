using NUnit.Framework;
using System.Text;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>Every scenario under tests/iotests as a test case: on the reference target, and reference vs reference-cli.</summary>
[TestFixture]
[Category("iotests")]
public sealed class ScenarioTests
{
    private static readonly string? Root =
        IotestsCommand.FindRoot(TestContext.CurrentContext.TestDirectory) ?? IotestsCommand.FindRoot(SourceDirectory());

    private const string NoScenarios = "(no tests/iotests found)";

    /// <summary>The scenario stems, for TestCaseSource (a failing placeholder when the folder cannot be found).</summary>
    public static IEnumerable<string> Stems() =>
        Root is null ? [NoScenarios] : Runner.Discover(Root).Select(s => s.Stem);

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetDirectoryName(path) ?? ".";

    private static Scenario Load(string stem)
    {
        Assert.That(Root, Is.Not.Null, "cannot find tests/iotests above the test directory or the source file");
        return Runner.Discover(Root!).Single(s => s.Stem == stem);
    }

    private static string Scratch(string target) =>
        Path.Combine(Path.GetTempPath(), "iotests-nunit-" + Environment.ProcessId, target);

    [TestCaseSource(nameof(Stems))]
    public void Scenario_matches_its_golden_on_reference(string stem)
    {
        var scenario = Load(stem);
        var result = new Runner(Target.Load("reference", Root!), Scratch("reference"), bless: false).Run(scenario);
        if (result.Outcome == Outcome.NotRun)
        {
            Assert.Ignore("not run: " + result.Reason);
        }

        Assert.That(result.Outcome, Is.EqualTo(Outcome.Pass), () => Explain(scenario, result));
    }

    [TestCaseSource(nameof(Stems))]
    public void Scenario_gives_the_same_output_in_process_and_as_processes(string stem)
    {
        var scenario = Load(stem);
        var inProcess = new Runner(Target.Load("reference", Root!), Scratch("reference"), bless: false).Run(scenario);
        var cli = new Runner(Target.Load("reference-cli", Root!), Scratch("reference-cli"), bless: false).Run(scenario);
        if (cli.Outcome == Outcome.NotRun)
        {
            Assert.Ignore("not run: " + cli.Reason);
        }

        Assert.That(Golden.Normalize(cli.Output), Is.EqualTo(Golden.Normalize(inProcess.Output)),
            () => Golden.UnifiedDiff(inProcess.Output, cli.Output, "reference", "reference-cli") + Numbered(scenario));
    }

    private static string Explain(Scenario scenario, ScenarioResult result) =>
        $"{result.Reason}\n{result.Diff}\n{Numbered(scenario)}";

    /// <summary>The scenario's script with line numbers, as printed on failure.</summary>
    private static string Numbered(Scenario scenario)
    {
        var sb = new StringBuilder($"--- {scenario.ScriptPath}\n");
        var n = 0;
        foreach (var line in File.ReadAllLines(scenario.ScriptPath))
        {
            sb.Append($"{++n,4}  {line}\n");
        }

        return sb.ToString();
    }
}
