using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Qcow2.Harness;

/// <summary>
/// Finds, selects and runs scenarios on a target, compares with goldens, and blesses on request. With ci, a scenario
/// without a golden fails instead of being not run.
/// </summary>
internal sealed partial class Runner(Target target, string scratchDir, bool bless, bool ci = false)
{
    /// <summary>tests/iotests under root.</summary>
    public static string ScenarioDir(string root) => Path.Combine(root, "tests", "iotests");

    /// <summary>tests/golden under root.</summary>
    public static string GoldenDir(string root) => Path.Combine(root, "tests", "golden");

    /// <summary>All scenarios: files in tests/iotests named NNN or NNN-name, sorted.</summary>
    public static List<Scenario> Discover(string root) =>
        Directory.Exists(ScenarioDir(root))
            ? Directory.GetFiles(ScenarioDir(root))
                .Where(f => StemSyntax().IsMatch(Path.GetFileName(f)))
                .Order(StringComparer.Ordinal)
                .Select(f => ScenarioParser.Load(f, GoldenDir(root)))
                .ToList()
            : [];

    /// <summary>Goldens in tests/golden whose stem names no scenario script, as failed results (a CI gate checks these).</summary>
    public static List<ScenarioResult> Orphans(string root, IReadOnlyList<Scenario> all)
    {
        if (!Directory.Exists(GoldenDir(root)))
        {
            return [];
        }

        var stems = all.Select(s => s.Stem).ToHashSet(StringComparer.Ordinal);
        return Directory.GetFiles(GoldenDir(root), "*.out")
            .Select(f => (Path: f, Stem: Path.GetFileNameWithoutExtension(f)))
            .Where(g => !stems.Contains(g.Stem))
            .OrderBy(g => g.Stem, StringComparer.Ordinal)
            .Select(g =>
            {
                var script = Path.Combine(ScenarioDir(root), g.Stem);
                var scenario = new Scenario(g.Stem, script, g.Path, "", [], [], [], null);
                var reason = "golden without a scenario (expected " + ScenarioParser.DisplayPath(script) + ")";
                return new ScenarioResult(scenario, Outcome.Fail, reason, "", "", TimeSpan.Zero);
            })
            .ToList();
    }

    /// <summary>
    /// Selects scenarios as iotests' check does: with groups, those in any of them (plus named ones);
    /// else the named ones; else all; minus excluded groups and 'disabled' unless named.
    /// </summary>
    public static List<Scenario> Select(List<Scenario> all, IReadOnlyList<string> names, IReadOnlyList<string> groups, IReadOnlyList<string> excluded)
    {
        var named = new List<Scenario>();
        foreach (var n in names)
        {
            var key = n.All(char.IsAsciiDigit) && n.Length < 3 ? n.PadLeft(3, '0') : n;
            var hits = all.Where(s => s.Stem == key || s.Number == key || s.Stem[3..].TrimStart('-') == key).ToList();
            if (hits.Count == 0)
            {
                throw new ArgumentException($"no scenario matches '{n}'");
            }

            named.AddRange(hits);
        }

        IEnumerable<Scenario> chosen = groups.Count > 0
            ? all.Where(s => s.Groups.Intersect(groups).Any())
            : names.Count > 0 ? [] : all;
        chosen = chosen.Where(s => !s.Groups.Intersect(excluded).Any() && !s.Groups.Contains("disabled"));
        return chosen.Concat(named).Distinct().OrderBy(s => s.Stem, StringComparer.Ordinal).ToList();
    }

    /// <summary>Runs one scenario in a fresh TEST_DIR under the scratch directory.</summary>
    public ScenarioResult Run(Scenario s)
    {
        var clock = Stopwatch.StartNew();
        var bad = Path.Combine(scratchDir, s.Stem + ".out.bad");
        if (s.ParseError is { } error)
        {
            return new ScenarioResult(s, Outcome.Fail, "parse error", "", error + "\n", clock.Elapsed);
        }

        if (!s.HasGolden && !bless)
        {
            var missing = "no golden (expected " + ScenarioParser.DisplayPath(s.GoldenPath) + ")";
            return new ScenarioResult(s, ci ? Outcome.Fail : Outcome.NotRun, missing, "", "", clock.Elapsed);
        }

        if (target.WhyNotRun(s) is { } why)
        {
            return new ScenarioResult(s, Outcome.NotRun, why, "", "", clock.Elapsed);
        }

        var testDir = Path.Combine(scratchDir, s.Stem).Replace('\\', '/');
        if (Directory.Exists(testDir))
        {
            Directory.Delete(testDir, recursive: true);
        }

        Directory.CreateDirectory(testDir);
        var interpreter = new Interpreter(s, target, testDir);
        var output = interpreter.Run();
        if (interpreter.NotRunReason is { } reason)
        {
            return new ScenarioResult(s, Outcome.NotRun, reason, output, "", clock.Elapsed);
        }

        var expected = s.HasGolden ? File.ReadAllText(s.GoldenPath) : "";
        if (Golden.Matches(expected, output))
        {
            File.Delete(bad);
            Directory.Delete(testDir, recursive: true);
            return new ScenarioResult(s, Outcome.Pass, "", output, "", clock.Elapsed);
        }

        var diff = Golden.UnifiedDiff(expected, output, ScenarioParser.DisplayPath(s.GoldenPath), ScenarioParser.DisplayPath(bad));
        if (bless)
        {
            File.WriteAllText(s.GoldenPath, Golden.Normalize(output));
            File.Delete(bad);
            return new ScenarioResult(s, Outcome.Pass, "", output, diff, clock.Elapsed, Blessed: true);
        }

        File.WriteAllText(bad, Golden.Normalize(output));
        return new ScenarioResult(s, Outcome.Fail, "output mismatch (see " + ScenarioParser.DisplayPath(bad) + ")", output, diff, clock.Elapsed);
    }

    /// <summary>Runs scenarios with up to jobs in parallel, reporting each result in order as soon as it and its predecessors are done.</summary>
    public List<ScenarioResult> RunAll(IReadOnlyList<Scenario> scenarios, int jobs, Action<ScenarioResult> report)
    {
        Directory.CreateDirectory(scratchDir);
        using var gate = new SemaphoreSlim(Math.Max(1, jobs));
        var tasks = scenarios.Select(s => Task.Run(async () =>
        {
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                return Run(s);
            }
            finally
            {
                gate.Release();
            }
        })).ToList();
        var results = new List<ScenarioResult>();
        foreach (var t in tasks)
        {
            var r = t.GetAwaiter().GetResult();
            report(r);
            results.Add(r);
        }

        return results;
    }

    [GeneratedRegex(@"^[0-9]{3}(-[A-Za-z0-9_.-]+)?$")]
    private static partial Regex StemSyntax();
}
