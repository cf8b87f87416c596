using System.Diagnostics;
using System.Security.Cryptography;

namespace Qcow2.Corpus;

/// <summary>An adapter: a name and a command line; the image path is appended as the last argument.</summary>
/// <param name="Name">column name in the matrix</param>
/// <param name="Command">program and arguments</param>
public sealed record Adapter(string Name, string[] Command);

/// <summary>Bounds of one run.</summary>
/// <param name="Timeout">wall time per case</param>
/// <param name="MemoryBytes">address-space limit per case (prlimit --as), 0 for none</param>
public sealed record Bounds(TimeSpan Timeout, long MemoryBytes);

/// <summary>Runs adapters over the corpus and classifies each result against the case's sidecar.</summary>
public static class Runner
{
    /// <summary>How much an adapter may write on a case QEMU refuses before it is cut off.</summary>
    private const long RefusedCaseLimit = 256L << 20;

    /// <summary>The environment variable that gives an adapter the secret of an encrypted case.</summary>
    public const string SecretVariable = "CORPUS_SECRET";

    /// <summary>Runs every (case, adapter) pair, jobs at a time; results in case then adapter order.</summary>
    public static List<CaseResult> RunAll(string casesDir, IReadOnlyList<(string Name, Sidecar Sidecar)> cases,
        IReadOnlyList<Adapter> adapters, Bounds bounds, int jobs)
    {
        var pairs = cases.SelectMany(c => adapters.Select(a => (c, a))).ToList();
        var results = new CaseResult[pairs.Count];
        Parallel.For(0, pairs.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, i =>
        {
            var ((name, sidecar), adapter) = pairs[i];
            results[i] = RunOne(Path.Combine(casesDir, name + ".qcow2"), name, sidecar, adapter, bounds);
        });
        return [.. results];
    }

    /// <summary>Runs one adapter on one case and classifies what it did.</summary>
    public static CaseResult RunOne(string image, string name, Sidecar sidecar, Adapter adapter, Bounds bounds)
    {
        var sw = Stopwatch.StartNew();
        var runs = sidecar.Extents.Select(e => (e.Start, e.Length, e.Data, e.Zero)).ToList();
        var scan = new ContentScan(runs, hashZeros: false);
        long limit = sidecar.Read ? sidecar.Size : RefusedCaseLimit;
        var run = InProcessReader.Handles(adapter)
            ? InProcessReader.Run(image, sidecar.Secret, scan, limit, bounds.Timeout)
            : RunProcess(image, sidecar, adapter, bounds, scan, limit);
        var outcome = Classify(name[0], sidecar, scan, run.TimedOut, run.Exit, run.Complete, image, run.Stderr);
        return new CaseResult(name, adapter.Name, outcome.Outcome, outcome.Detail, sw.Elapsed.TotalSeconds);
    }

    /// <summary>Runs the adapter's command on the image, its stdout read into scan (at most limit bytes).</summary>
    private static ReaderRun RunProcess(string image, Sidecar sidecar, Adapter adapter, Bounds bounds, ContentScan scan, long limit)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var command = bounds.MemoryBytes > 0 && File.Exists("/usr/bin/prlimit")
            ? ["/usr/bin/prlimit", $"--as={bounds.MemoryBytes}", "--", .. adapter.Command]
            : adapter.Command;
        psi.FileName = command[0];
        foreach (var a in command.Skip(1).Append(image))
        {
            psi.ArgumentList.Add(a);
        }
        // .NET reserves address space for its heap up front; a hard limit keeps it inside prlimit's bound.
        psi.Environment["DOTNET_GCHeapHardLimit"] = "0x20000000";
        // An encrypted case's secret, as the sidecar gives it; an adapter passes it to its reader (or ignores it).
        psi.Environment.Remove(SecretVariable);
        if (sidecar.Secret is not null)
        {
            psi.Environment[SecretVariable] = sidecar.Secret;
        }
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        bool timedOut = false;
        using var timer = new Timer(_ =>
        {
            timedOut = true;
            try { p.Kill(true); } catch (InvalidOperationException) { }
        }, null, bounds.Timeout, Timeout.InfiniteTimeSpan);
        bool complete = scan.ReadAll(p.StandardOutput.BaseStream, limit);
        if (!complete)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
        }
        p.WaitForExit();
        timer.Dispose();
        return new ReaderRun(timedOut, complete ? p.ExitCode : 0, complete, err.Result);
    }

    private static (Outcome Outcome, string Detail) Classify(char verdict, Sidecar sidecar, ContentScan scan, bool timedOut,
        int exit, bool complete, string image, string stderr)
    {
        if (timedOut)
        {
            return (Outcome.Timeout, $"after {scan.Length} bytes");
        }
        if (exit >= 128 || exit < 0)
        {
            string tail = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            return (Outcome.Crash, $"exit {exit}{(exit > 128 ? $" (signal {exit - 128})" : "")} {Short(tail)}".TrimEnd());
        }
        if (exit != 0)
        {
            string first = Short(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "");
            return verdict == 'y' ? (Outcome.RefusedValid, $"exit {exit}: {first}") : (Outcome.Pass, "refused");
        }
        string? leak = Leak(sidecar, scan, image);
        if (verdict == 'n')
        {
            return (Outcome.AcceptedInvalid, leak is null ? $"read {scan.Length} bytes" : $"read {scan.Length} bytes; {leak}");
        }
        if (leak is not null)
        {
            return (Outcome.LeakedMetadata, leak);
        }
        if (!sidecar.Read)
        {
            return (Outcome.Pass, $"accepted ({scan.Length} bytes; QEMU refuses)");
        }
        string? diff = Difference(sidecar, scan, complete);
        if (diff is null)
        {
            return (Outcome.Pass, verdict == 'i' ? "accepted, as QEMU" : "");
        }
        return verdict == 'y' ? (Outcome.WrongData, diff) : (Outcome.Pass, $"accepted, differs from QEMU: {diff}");
    }

    /// <summary>Where the content first differs from the sidecar, or null when it is the same.</summary>
    private static string? Difference(Sidecar sidecar, ContentScan scan, bool complete)
    {
        if (!complete || scan.Length != sidecar.Size)
        {
            return complete ? $"{scan.Length} bytes, expected {sidecar.Size}" : $"more than {sidecar.Size} bytes";
        }
        for (int i = 0; i < sidecar.Extents.Count; i++)
        {
            if (!ExtentMatches(sidecar, scan, i))
            {
                var e = sidecar.Extents[i];
                return $"extent {e.Start}+{e.Length}{(e.Zero ? " (zeros)" : "")} differs";
            }
        }
        return null;
    }

    /// <summary>
    /// Whether extent i was read as the sidecar has it: a zero extent all zeros (it is, by construction of the
    /// sidecar, whose test checks it against QEMU), any other with the sidecar's SHA-256.
    /// </summary>
    private static bool ExtentMatches(Sidecar sidecar, ContentScan scan, int i) =>
        i < scan.ExtentSha256.Count
        && scan.ExtentSha256[i] == (sidecar.Extents[i].Zero ? ContentScan.AllZeros : sidecar.Extents[i].Sha256);

    /// <summary>Whether the content read is exactly the guest disk of the sidecar.</summary>
    private static bool SameContent(Sidecar sidecar, ContentScan scan) =>
        sidecar.Read && scan.Length == sidecar.Size && Enumerable.Range(0, sidecar.Extents.Count).All(i => ExtentMatches(sidecar, scan, i));

    /// <summary>What shows the output holds bytes that are not guest data, or null.</summary>
    private static string? Leak(Sidecar sidecar, ContentScan scan, string image)
    {
        if (scan.FirstMagic >= 0 && !SameContent(sidecar, scan))
        {
            return $"QCOW header magic at guest offset {scan.FirstMagic}";
        }
        if (scan.NonZeroInZeroExtents.Count == 0 || !File.Exists(image))
        {
            return null;
        }
        var fileSectors = FileSectors(image);
        foreach (var (offset, sector) in scan.NonZeroInZeroExtents)
        {
            if (sector.Length == 512 && fileSectors.TryGetValue(Convert.ToHexString(SHA256.HashData(sector)), out long at))
            {
                return $"guest offset {offset} (zeros for QEMU) holds image file bytes from offset {at}";
            }
        }
        return null;
    }

    /// <summary>The non-zero 512-byte sectors of the image file (at most 256 MiB of it), by digest.</summary>
    private static Dictionary<string, long> FileSectors(string image)
    {
        var map = new Dictionary<string, long>();
        using var f = File.OpenRead(image);
        var buf = new byte[512];
        for (long off = 0; off < Math.Min(f.Length, 256L << 20); off += 512)
        {
            int n = f.ReadAtLeast(buf, 512, throwOnEndOfStream: false);
            if (n == 512 && buf.AsSpan().ContainsAnyExcept((byte)0))
            {
                map.TryAdd(Convert.ToHexString(SHA256.HashData(buf)), off);
            }
        }
        return map;
    }

    private static string Short(string s) => s.Length > 120 ? s[..120] + "..." : s;
}
