using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>The iotests command line: option errors, --help, the CI gate on goldens, ordered output with -j.</summary>
[TestFixture]
public sealed class CommandLineTests : SandboxFixture
{
    private const string Script = "# desc\n# group: quick\necho hello\necho \"*** done\"\n";
    private const string Golden = "QA output created by {0}\nhello\n*** done\n";

    /// <summary>Adds an 'echo' target beside the sandbox's fake one.</summary>
    [SetUp]
    public void AddEchoTarget() => File.WriteAllText(Path.Combine(Box.Root, "tests", "targets", "echo.target"), "capabilities: qcow2\n");

    private (int Code, string Text) Execute(string? ci, params string[] args)
    {
        var console = new StringWriter { NewLine = "\n" };
        int code = IotestsCommand.Execute(["--root", Box.Root, "--target", "echo", .. args], console, ci ?? "");
        return (code, console.ToString());
    }

    [TestCase("--timeout", "abc", "iotests: option --timeout needs a positive number of seconds, not 'abc' (see --help)")]
    [TestCase("--timeout", "0", "iotests: option --timeout needs a positive number of seconds, not '0' (see --help)")]
    [TestCase("-j", "x", "iotests: option -j needs a positive number of jobs, not 'x' (see --help)")]
    [TestCase("--frobnicate", null, "iotests: unknown option --frobnicate (see --help)")]
    [TestCase("-g", null, "iotests: option -g needs a value (see --help)")]
    [TestCase("-g", ",", "iotests: option -g needs a group name (see --help)")]
    [TestCase("--all", null, "iotests: option --all belongs to run-tests.sh / run-tests.ps1, not to the iotests runner (see --help)")]
    public void A_bad_option_is_one_line_and_exit_2(string option, string? value, string expected)
    {
        var (code, text) = Execute(null, value is null ? [option] : [option, value]);
        Assert.That((code, text), Is.EqualTo((2, expected + "\n")));
    }

    [Test]
    public void A_missing_root_and_a_missing_target_are_one_line_and_exit_2()
    {
        var console = new StringWriter { NewLine = "\n" };
        int code = IotestsCommand.Execute(["--root", Path.Combine(Box.Root, "nowhere")], console, "");
        Assert.That((code, console.ToString().Count(c => c == '\n')), Is.EqualTo((2, 1)), console.ToString());
        var (code2, text2) = Execute(null, "--target", "nosuch");
        Assert.That((code2, text2.Count(c => c == '\n')), Is.EqualTo((2, 1)), text2);
    }

    [Test]
    public void A_relative_root_or_scratch_is_taken_from_the_current_folder()
    {
        // The tools run in the scenario's folder, so a relative path kept as given would name a file there.
        var o = Qcow2.Harness.Options.Parse(["--root", "repo", "--scratch", "scratch"]);
        Assert.That((o.Root, o.Scratch), Is.EqualTo((Path.GetFullPath("repo"), Path.GetFullPath("scratch"))));
    }

    [Test]
    public void Jobs_default_to_one_more_than_the_cores_and_j_sets_them()
    {
        // One more job than cores keeps them busy while a scenario's programs wait on the disk and on each other.
        Assert.That(Qcow2.Harness.Options.Parse([]).Jobs, Is.EqualTo(Environment.ProcessorCount + 1));
        Assert.That(Qcow2.Harness.Options.Parse(["-j", "1"]).Jobs, Is.EqualTo(1));
    }

    [Test]
    public void Help_lists_every_option_of_the_scripts_and_exits_0()
    {
        var (code, text) = Execute(null, "--help");
        Assert.That(code, Is.Zero);
        foreach (var option in new[] { "-g", "-x", "--target", "--bless", "-j", "--junit", "--ci", "--root", "--scratch", "--timeout", "--list", "--help", "--all", "--unit", "--debug" })
        {
            Assert.That(text, Does.Contain(" " + option + " "), option);
        }
    }

    [Test]
    public void The_scripts_handle_every_option_the_help_names_for_them()
    {
        string? root = IotestsCommand.FindRoot(TestContext.CurrentContext.TestDirectory) ?? IotestsCommand.FindRoot(SourceDirectory());
        Assert.That(root, Is.Not.Null, "cannot find the repository root");
        foreach (var script in new[] { "run-tests.sh", "run-tests.ps1" })
        {
            string text = File.ReadAllText(Path.Combine(root!, script));
            foreach (var option in new[] { "--all", "--unit", "--debug", "--junit", "--help", "--target" })
            {
                Assert.That(text, Does.Contain($"'{option}'").Or.Contain($"{option})").Or.Contain($"{option} |").Or.Contain($"| {option}"), $"{script} {option}");
            }
        }
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetDirectoryName(path) ?? ".";

    [Test]
    public void Without_ci_a_missing_golden_is_not_run_and_a_stray_golden_is_ignored()
    {
        Box.Add("001", Script, string.Format(Golden, "001"));
        Box.Add("002", Script);
        File.WriteAllText(Path.Combine(Box.Root, "tests", "golden", "003-gone.out"), "x\n");
        var (code, text) = Execute("false");
        Assert.That(code, Is.Zero, text);
        Assert.That(text, Does.Contain("002  not run: no golden").And.EndWith("Not run: 002\nPassed all 1 iotests\n1 passed, 0 failed, 1 skipped\n"));
    }

    [TestCase("true", new string[0])]
    [TestCase("", new[] { "--ci" })]
    public void In_ci_a_missing_golden_and_a_golden_without_scenario_fail(string ci, string[] args)
    {
        Box.Add("001", Script, string.Format(Golden, "001"));
        Box.Add("002", Script);
        File.WriteAllText(Path.Combine(Box.Root, "tests", "golden", "003-gone.out"), "x\n");
        var (code, text) = Execute(ci, args);
        Assert.That(code, Is.EqualTo(1), text);
        Assert.That(text, Does.Contain("fail").And.Contain("no golden (expected "));
        Assert.That(text, Does.Contain("003-gone").And.Contain("golden without a scenario (expected "));
        Assert.That(text, Does.EndWith("Failures: 002 003-gone\nFailed 2 of 3 iotests\n1 passed, 2 failed, 0 skipped\n"));
    }

    [Test]
    public void In_ci_a_named_selection_does_not_report_stray_goldens()
    {
        Box.Add("001", Script, string.Format(Golden, "001"));
        File.WriteAllText(Path.Combine(Box.Root, "tests", "golden", "003-gone.out"), "x\n");
        var (code, text) = Execute("true", "001");
        Assert.That(code, Is.Zero, text);
        Assert.That(text, Does.Not.Contain("003-gone"));
    }

    [Test]
    public void The_CI_variable_turns_the_gate_on_unless_empty_0_or_false()
    {
        string[] on = ["1", "true", "yes"], off = ["", "0", "false", "FALSE"];
        Assert.That(on.Where(Qcow2.Harness.Options.IsCiValue), Is.EqualTo(on));
        Assert.That(off.Where(Qcow2.Harness.Options.IsCiValue), Is.Empty);
    }

    [Test]
    public void Results_print_in_order_with_many_jobs()
    {
        var stems = Enumerable.Range(1, 12).Select(i => i.ToString("000", System.Globalization.CultureInfo.InvariantCulture)).ToList();
        foreach (var s in stems)
        {
            Box.Add(s, Script, string.Format(Golden, s));
        }

        var (code, text) = Execute(null, "-j", "6");
        var printed = text.Split('\n').Where(l => l.Contains(" pass ", StringComparison.Ordinal)).Select(l => l[..3]).ToList();
        Assert.That((code, printed), Is.EqualTo((0, stems)));
    }
}
