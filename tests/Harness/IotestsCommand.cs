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

            var scratch = Path.Combine(o.Scratch ?? Path.Combine(root, "tests", "scratch"), target.Name);
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
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            console.WriteLine("iotests: " + e.Message);
            return 2;
        }
    }

    /// <summary>Walks up from dir to the first directory containing tests/iotests.</summary>
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
