using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Qcow2.UnitTests.Fuzz;

/// <summary>The settings of one fuzz run, from the environment (FUZZ_*) or the defaults of the bounded CI run.</summary>
/// <param name="Seed">run seed (FUZZ_SEED)</param>
/// <param name="Mutants">most mutants to run (FUZZ_MUTANTS)</param>
/// <param name="Budget">longest the run may take (FUZZ_SECONDS)</param>
/// <param name="QemuEvery">compare every Nth mutant with QEMU, 0 for never (FUZZ_QEMU_EVERY)</param>
/// <param name="Replay">run only this mutant and print everything (FUZZ_REPLAY)</param>
/// <param name="ToolsEvery">run every tool command on every Nth mutant (FUZZ_TOOLS_EVERY; 1 for all)</param>
internal sealed record FuzzSettings(int Seed, long Mutants, TimeSpan Budget, long QemuEvery, long? Replay, long ToolsEvery)
{
    /// <summary>Longest one command may take before it counts as a hang (FUZZ_HANG_SECONDS).</summary>
    public TimeSpan HangLimit { get; init; } = TimeSpan.FromSeconds(Number("FUZZ_HANG_SECONDS", 15));

    /// <summary>The settings of the environment, with the given defaults.</summary>
    public static FuzzSettings FromEnvironment(int seed, long mutants, double seconds, long qemuEvery, long toolsEvery) => new(
        (int)Number("FUZZ_SEED", seed),
        Number("FUZZ_MUTANTS", mutants),
        TimeSpan.FromSeconds(Number("FUZZ_SECONDS", (long)seconds)),
        Number("FUZZ_QEMU_EVERY", qemuEvery),
        Environment.GetEnvironmentVariable("FUZZ_REPLAY") is { Length: > 0 } r ? long.Parse(r, CultureInfo.InvariantCulture) : null,
        Math.Max(1, Number("FUZZ_TOOLS_EVERY", toolsEvery)));

    private static long Number(string name, long fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;
}

/// <summary>What a run did.</summary>
internal sealed class FuzzReport
{
    /// <summary>Mutants run.</summary>
    public long Mutants;

    /// <summary>Mutants our read-only open refused.</summary>
    public long Refused;

    /// <summary>Mutants every tool command ran on.</summary>
    public long ToolMutants;

    /// <summary>Mutants where our engine lost a write and QEMU lost (or refused) it too.</summary>
    public long LostByQemuToo;

    /// <summary>Mutants where a command ran past the limit once and finished in time when run again alone.</summary>
    public long HangNotRepeated;

    /// <summary>Mutants where a command ran past the limit and QEMU's took seconds too.</summary>
    public long SlowAsQemu;

    /// <summary>Mutants compared with QEMU.</summary>
    public long Compared;

    /// <summary>Wall time.</summary>
    public TimeSpan Elapsed;

    /// <summary>Every finding (the first of each kind and command in full).</summary>
    public readonly List<FuzzFinding> Findings = [];

    /// <summary>Mutants per second.</summary>
    public double Rate => Mutants / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>A fuzz run: seeds, then mutants one after another until the count or the time budget is reached.</summary>
internal static class FuzzSession
{
    /// <summary>
    /// Runs the session on FUZZ_THREADS worker threads, each taking the next mutant when it is free (the tool tier's
    /// every Nth mutant costs far more than the others, so a fixed share would leave a thread idle); progress and
    /// findings go to log.
    /// </summary>
    public static FuzzReport Run(FuzzSettings s, Action<string> log, bool qemuAvailable)
    {
        var report = new FuzzReport();
        List<FuzzSeed> seeds;
        using (var setup = new FuzzRunner(s.HangLimit))
        {
            seeds = FuzzSeeds.Load(setup.Dir);
        }
        int threads = s.Replay is null ? (int)Math.Clamp(EnvNumber("FUZZ_THREADS", Environment.ProcessorCount), 1, 64) : 1;
        log($"fuzz: seed {s.Seed}; {seeds.Count} seed images, {seeds.Sum(x => x.Fields.Count)} named values; {threads} threads; " +
            $"engine tier on every mutant, {FuzzCommands.All.Length} tool commands on every {s.ToolsEvery}th; " +
            $"QEMU comparison every {s.QemuEvery}th{(qemuAvailable ? "" : " (qemu-img missing: off)")}");
        var sw = Stopwatch.StartNew();
        long first = s.Replay ?? 0, last = s.Replay ?? s.Mutants - 1, next = first - 1;
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            var runner = new FuzzRunner(s.HangLimit);
            var abandoned = new List<FuzzRunner>();
            try
            {
                for (long i = Interlocked.Increment(ref next); i <= last && (s.Replay is not null || sw.Elapsed < s.Budget); i = Interlocked.Increment(ref next))
                {
                    if (RunMutant(s, seeds, i, ref runner, abandoned, report, log, qemuAvailable) && s.Replay is null && i % 10000 == 9999)
                    {
                        report.Elapsed = sw.Elapsed;
                        log($"fuzz: {report.Mutants} mutants, {report.Rate:F0}/s, {report.Findings.Count} findings");
                    }
                }
            }
            finally
            {
                runner.Dispose();
                abandoned.ForEach(r => r.Dispose());
            }
        }, 16 << 20)).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        report.Elapsed = sw.Elapsed;
        log($"fuzz: seed {s.Seed}: {report.Mutants} mutants in {report.Elapsed.TotalSeconds:F1} s ({report.Rate:F0} mutants/s on {threads} threads); " +
            $"{report.ToolMutants} through every tool command, {report.Refused} of them refused by our open; {report.Compared} compared with QEMU; " +
            $"{report.LostByQemuToo} writes lost as QEMU loses them; {report.SlowAsQemu} slow as QEMU is; {report.HangNotRepeated} slow once, not again alone; {report.Findings.Count} findings");
        return report;
    }

    private static long EnvNumber(string name, long fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>Makes mutant i, runs it, confirms what needs QEMU's word, and records the findings; returns true.</summary>
    private static bool RunMutant(FuzzSettings s, List<FuzzSeed> seeds, long i, ref FuzzRunner runner, List<FuzzRunner> abandoned,
        FuzzReport report, Action<string> log, bool qemuAvailable)
    {
        var rng = FuzzMutator.ForMutant(s.Seed, i);
        var seed = Pick(seeds, rng);
        var (image, what) = FuzzMutator.Mutate(seed, rng);
        FuzzFinding Finding(string kind, string cmd, string detail) => new(kind, i, seed.Name, what, cmd, detail);
        Action<FuzzCommand, FuzzRun>? trace = s.Replay is null ? null : (c, r) => log($"$ {c}\nexit {r.ExitCode} after {r.Elapsed.TotalMilliseconds:F0} ms\n{r.Out}{r.Err}");
        if (s.Replay is not null)
        {
            log($"mutant {i}: seed {seed.Name}; {what}");
        }
        bool tools = s.Replay is not null || i % s.ToolsEvery == 0;
        var (found, refused) = runner.RunAll(image, Finding, tools, trace);
        bool compared = false, slowAsQemu = false, lostByQemuToo = false, hangNotRepeated = false;
        if (qemuAvailable && s.QemuEvery > 0 && (i % s.QemuEvery == 0 || s.Replay is not null) && !found.Any(f => f.Kind == "hang"))
        {
            found.AddRange(FuzzDifferential.Compare(runner, image, Finding));
            compared = true;
        }
        if (found.Any(f => f.Kind == "hang"))
        {
            // The hung command still owns the folder: continue in a new one.
            var hung = runner.LastCommand;
            abandoned.Add(runner);
            runner = new FuzzRunner(s.HangLimit);
            if (qemuAvailable && hung is not null && FuzzDifferential.QemuIsSlowToo(runner, image, hung))
            {
                slowAsQemu = true;
                found.RemoveAll(f => f.Kind == "hang");
            }
            else if (hung is not null && RerunFinishes(runner, image, hung, s.HangLimit))
            {
                // Alone it finishes: the other worker's garbage collections or the machine's load stalled it.
                hangNotRepeated = true;
                found.RemoveAll(f => f.Kind == "hang");
            }
        }
        if (qemuAvailable && found.Any(f => f.Kind == "lost-write") && !FuzzDifferential.QemuKeepsWrite(runner, image))
        {
            // QEMU loses (or refuses) the same write on this image: ours matches it.
            lostByQemuToo = true;
            found.RemoveAll(f => f.Kind == "lost-write");
        }
        lock (report)
        {
            report.Mutants++;
            report.ToolMutants += tools ? 1 : 0;
            report.Refused += refused ? 1 : 0;
            report.Compared += compared ? 1 : 0;
            report.SlowAsQemu += slowAsQemu ? 1 : 0;
            report.HangNotRepeated += hangNotRepeated ? 1 : 0;
            report.LostByQemuToo += lostByQemuToo ? 1 : 0;
            foreach (var f in found)
            {
                Record(report, f, image, s, log);
            }
        }
        return true;
    }

    /// <summary>Runs a command that ran past the limit once more, alone under a process-wide lock, with the same limit.</summary>
    private static bool RerunFinishes(FuzzRunner runner, byte[] image, FuzzCommand c, TimeSpan limit)
    {
        lock (RerunLock)
        {
            File.WriteAllBytes(runner.ImagePath, image);
            var t = Task.Run(() => runner.RunOne(c));
            return t.Wait(limit);
        }
    }

    private static readonly object RerunLock = new();

    /// <summary>A seed, the 64 KiB-cluster ones (ten times slower to mutate and open) drawn a tenth as often.</summary>
    private static FuzzSeed Pick(List<FuzzSeed> seeds, Random rng)
    {
        while (true)
        {
            var seed = seeds[rng.Next(seeds.Count)];
            if (seed.ClusterSize < 65536 || rng.Next(10) == 0)
            {
                return seed;
            }
        }
    }

    private static void Record(FuzzReport report, FuzzFinding f, byte[] image, FuzzSettings s, Action<string> log)
    {
        bool seen = report.Findings.Any(x => x.Kind == f.Kind && x.Command == f.Command);
        report.Findings.Add(f);
        if (seen && s.Replay is null)
        {
            return;
        }
        string dir = Path.Combine(Path.GetTempPath(), "qcow2-fuzz-findings");
        Directory.CreateDirectory(dir);
        string saved = Path.Combine(dir, $"{s.Seed}-{f.Index}.qcow2");
        File.WriteAllBytes(saved, image);
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"FUZZ FINDING [{f.Kind}] mutant {f.Index} ({FuzzMutator.Replay(s.Seed, f.Index)}); saved as {saved}\n");
        b.Append(CultureInfo.InvariantCulture, $"  seed {f.Seed}; mutation: {f.Mutation}\n  command: {f.Command}\n  {f.Detail.Replace("\n", "\n  ", StringComparison.Ordinal)}");
        log(b.ToString());
    }
}
