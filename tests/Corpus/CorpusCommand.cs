using System.Globalization;
using System.Text.RegularExpressions;

namespace Qcow2.Corpus;

/// <summary>
/// The corpus command line: list, generate OUTDIR, expect CASES EXPECTED (sidecars from QEMU), run CASES EXPECTED
/// NAME=COMMAND... (the matrix).
/// </summary>
public static class CorpusCommand
{
    private const string Usage = """
        usage: corpus list
               corpus generate OUTDIR [--only REGEX]
               corpus expect CASES EXPECTED [--only REGEX]
               corpus run CASES EXPECTED [--only REGEX] [--timeout SECONDS] [--memory BYTES] [--jobs N]
                          [--md FILE] [--json FILE] NAME=COMMAND...
               corpus writers [--only REGEX] [--timeout SECONDS] [--md FILE] [--json FILE] NAME=COMMAND...
        An adapter COMMAND (split at spaces) gets the image path as its last argument and writes the guest disk to
        stdout, or exits non-zero to refuse the image; the COMMAND inproc:qimg runs this project's qimg in-process. A writer adapter COMMAND gets 'create IMAGE SIZE' or
        'write IMAGE PATTERN OFFSET LENGTH' (decimal numbers) and exits non-zero to refuse.
        """;

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Execute(string[] args, TextWriter output, TextWriter error)
    {
        var (positional, options) = Parse(args);
        Func<string, bool>? only = options.TryGetValue("only", out var re) ? n => Regex.IsMatch(n, re) : null;
        switch (positional.FirstOrDefault())
        {
            case "list":
                foreach (var c in Generator.Cases)
                {
                    output.WriteLine(c.Name);
                }
                return 0;
            case "generate" when positional.Count == 2:
                try
                {
                    Generator.Generate(positional[1], only, output);
                }
                catch (InvalidOperationException e)
                {
                    error.WriteLine($"corpus: {e.Message}");
                    return 1;
                }
                return 0;
            case "expect" when positional.Count == 3:
                return Expect(positional[1], positional[2], only, output, error);
            case "run" when positional.Count >= 4:
                return Run(positional[1], positional[2], positional.Skip(3).ToList(), options, only, output, error);
            case "writers" when positional.Count >= 2:
                return Writers(positional.Skip(1).ToList(), options, only, output, error);
            default:
                error.WriteLine(Usage);
                return 2;
        }
    }

    private static int Expect(string cases, string expected, Func<string, bool>? only, TextWriter output, TextWriter error)
    {
        Directory.CreateDirectory(expected);
        int bad = 0;
        var chosen = Generator.Cases.Where(c => only is null || only(c.Name)).ToList();
        var sidecars = new Sidecar[chosen.Count];
        Parallel.For(0, chosen.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => sidecars[i] = Expectations.FromQemu(cases, chosen[i]));
        foreach (var s in sidecars)
        {
            File.WriteAllText(Path.Combine(expected, s.Name + ".json"), s.ToJson());
            if ((s.Name[0] == 'y' && !s.Read) || (s.Name[0] == 'n' && s.Read))
            {
                error.WriteLine($"{s.Name}: QEMU {(s.Read ? "reads" : "refuses")} it, against its prefix {(s.Error is null ? "" : ": " + s.Error)}");
                bad++;
            }
        }
        output.WriteLine($"{sidecars.Length} sidecars written to {expected}; {bad} disagree with their prefix");
        return bad == 0 ? 0 : 1;
    }

    private static int Run(string cases, string expected, List<string> adapterArgs, Dictionary<string, string> options,
        Func<string, bool>? only, TextWriter output, TextWriter error)
    {
        if (ParseAdapters(adapterArgs, error) is not { } adapters)
        {
            return 2;
        }
        var list = Directory.GetFiles(expected, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>()
            .Where(n => only is null || only(n)).Order(StringComparer.Ordinal)
            .Select(n => (n, Sidecar.Parse(File.ReadAllText(Path.Combine(expected, n + ".json"))))).ToList();
        var bounds = new Bounds(
            TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("timeout", "60"), CultureInfo.InvariantCulture)),
            long.Parse(options.GetValueOrDefault("memory", "4294967296"), CultureInfo.InvariantCulture));
        int jobs = int.Parse(options.GetValueOrDefault("jobs", "2"), CultureInfo.InvariantCulture);
        var results = Runner.RunAll(cases, list, adapters, bounds, jobs);
        Report(results, adapters, options, output);
        return 0;
    }

    private static int Writers(List<string> adapterArgs, Dictionary<string, string> options, Func<string, bool>? only,
        TextWriter output, TextWriter error)
    {
        if (ParseAdapters(adapterArgs, error) is not { } adapters)
        {
            return 2;
        }
        var bounds = new Bounds(
            TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("timeout", "60"), CultureInfo.InvariantCulture)), 0);
        var work = Directory.CreateTempSubdirectory("corpus-writers-");
        try
        {
            var cases = WriterCases.All.Where(c => only is null || only(c.Name)).ToList();
            Report(WriterRunner.RunAll(work.FullName, cases, adapters, bounds), adapters, options, output);
        }
        finally
        {
            work.Delete(recursive: true);
        }
        return 0;
    }

    private static List<Adapter>? ParseAdapters(List<string> adapterArgs, TextWriter error)
    {
        var adapters = new List<Adapter>();
        foreach (var a in adapterArgs)
        {
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error.WriteLine($"corpus: adapter '{a}' is not NAME=COMMAND");
                return null;
            }
            adapters.Add(new Adapter(a[..eq], a[(eq + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        }
        return adapters;
    }

    /// <summary>Writes the matrix files the options name and one summary line per adapter.</summary>
    private static void Report(List<CaseResult> results, List<Adapter> adapters, Dictionary<string, string> options, TextWriter output)
    {
        var names = adapters.Select(a => a.Name).ToList();
        if (options.TryGetValue("md", out var md))
        {
            File.WriteAllText(md, Matrix.Markdown(results, names));
        }
        if (options.TryGetValue("json", out var json))
        {
            File.WriteAllText(json, Matrix.Json(results));
        }
        foreach (var n in names)
        {
            output.WriteLine(Matrix.Summary(results, n));
        }
    }

    private static (List<string> Positional, Dictionary<string, string> Options) Parse(string[] args)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                options[args[i][2..]] = args[++i];
            }
            else
            {
                positional.Add(args[i]);
            }
        }
        return (positional, options);
    }
}
