namespace Qcow2.Harness;

/// <summary>The iotests command: parse options, run the selection on a target, print results and summary.</summary>
internal static class IotestsCommand
{
    /// <summary>
    /// Runs the command; returns 0 when nothing failed, 1 on failures, 2 on usage errors. ciVariable is the value of
    /// the CI environment variable (read from the environment when not given).
    /// </summary>
    public static int Execute(IReadOnlyList<string> args, TextWriter console, string? ciVariable = null)
    {
        Options o;
        try
        {
            o = Options.Parse(args, ciVariable ?? Environment.GetEnvironmentVariable("CI"));
        }
        catch (ArgumentException e)
        {
            console.WriteLine($"iotests: {e.Message} (see --help)");
            return 2;
        }

        if (o.Help)
        {
            console.WriteLine(Options.Usage);
            return 0;
        }

        var root = o.Root ?? FindRoot(Environment.CurrentDirectory) ?? FindRoot(AppContext.BaseDirectory);
        if (root is null)
        {
            console.WriteLine("iotests: cannot find tests/iotests above the current directory; pass --root");
            return 2;
        }

        if (!Directory.Exists(Runner.ScenarioDir(root)))
        {
            console.WriteLine($"iotests: --root {root}: no tests/iotests there");
            return 2;
        }

        try
        {
            var target = Target.Load(o.Target, root, timeout: TimeSpan.FromSeconds(o.TimeoutSeconds));
            var all = Runner.Discover(root);
            var selected = Runner.Select(all, o.Names, o.Groups, o.Exclude);
            if (o.List)
            {
                foreach (var s in selected)
                {
                    console.WriteLine($"{s.Stem,-24} {string.Join(' ', s.Groups),-20} {s.Description}");
                }

                return 0;
            }

            return RunSelection(o, root, target, all, selected, console);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            console.WriteLine("iotests: " + e.Message);
            return 2;
        }
    }

    /// <summary>
    /// Prints the target's banner, runs the selected scenarios (and, as a CI gate, reports orphan goldens), prints the
    /// summary and writes the JUnit report; returns 1 when a scenario failed.
    /// </summary>
    private static int RunSelection(Options o, string root, Target target, List<Scenario> all, List<Scenario> selected,
        TextWriter console)
    {
        var scratch = Path.Combine(o.Scratch ?? DefaultScratch(root), target.Name);
        console.WriteLine($"TARGET      -- {target.Name}: {target.Description}");
        foreach (var (tool, runner) in target.Tools.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            console.WriteLine($"{tool.ToUpperInvariant(),-11} -- {runner.Description}");
        }

        console.WriteLine();
        var width = selected.Count == 0 ? 3 : selected.Max(s => s.Stem.Length);
        var runner2 = new Runner(target, scratch, o.Bless, o.Ci);
        void Print(ScenarioResult r)
        {
            console.WriteLine(r.Line(width));
            if (r.Diff.Length > 0)
            {
                console.Write(r.Diff);
            }

            if (r.Blessed)
            {
                console.WriteLine($"golden updated: {ScenarioParser.DisplayPath(r.Scenario.GoldenPath)}");
            }

            console.Flush();
        }

        var results = runner2.RunAll(selected, o.Jobs, Print);
        if (o.Ci && o.Names.Count == 0)
        {
            // A CI gate also catches the other half of a forgotten pair: a golden whose script is gone or misnamed.
            foreach (var orphan in Runner.Orphans(root, all))
            {
                Print(orphan);
                results.Add(orphan);
            }
        }

        foreach (var line in Report.Summary(results))
        {
            console.WriteLine(line);
        }

        if (o.JUnit is not null)
        {
            Report.WriteJUnit(o.JUnit, target.Name, results);
        }

        return results.Any(r => r.Outcome == Outcome.Fail) ? 1 : 0;
    }

    /// <summary>
    /// tests/scratch in a clone; for the suite shipped beside the executable (the dotnet tool package, a
    /// ./publish.sh folder) a folder under the temporary directory, as the tool's own folder may not be writable.
    /// </summary>
    public static string DefaultScratch(string root) =>
        IsBesideExecutable(root)
            ? Path.Combine(Path.GetTempPath(), "iotests-scratch")
            : Path.Combine(root, "tests", "scratch");

    /// <summary>Whether root is the folder of the running executable (the suite shipped with it).</summary>
    public static bool IsBesideExecutable(string root) =>
        string.Equals(Path.GetFullPath(root).TrimEnd('/', '\\'), ToolDir.BinDir, StringComparison.Ordinal);

    /// <summary>Walks up from dir to the first directory containing tests/iotests (a clone, or the suite shipped beside the executable).</summary>
    public static string? FindRoot(string dir)
    {
        for (var d = new DirectoryInfo(dir); d is not null; d = d.Parent)
        {
            if (Directory.Exists(Path.Combine(d.FullName, "tests", "iotests")))
            {
                return d.FullName;
            }
        }

        return null;
    }
}
