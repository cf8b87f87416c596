using System.Collections.Concurrent;
using System.Diagnostics;
using Qcow2.Cli;
using Qcow2.Corpus.Hostile;
using Qcow2.Tools.Qimg;
using Qcow2.Tools.Qio;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Hostile;

/// <summary>
/// What the hostile-image tests share: building a catalogue image with QEMU and running one of our tools in-process on
/// a worker thread with a time limit, counting what it allocates.
/// </summary>
public abstract class HostileFixture : InteropFixture
{
    /// <summary>Longest a run may take: QEMU answers all of these in milliseconds.</summary>
    protected static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>The most one run may allocate: the largest legal tables (a 32 MiB L1; 65536 snapshots printed as JSON), with room to spare.</summary>
    protected const long AllocationLimit = 512L << 20;

    /// <summary>Images already built, by catalogue row: each row is built once per run, not once per command.</summary>
    private static readonly ConcurrentDictionary<HostileImage, Lazy<byte[]>> Built = new(ReferenceEqualityComparer.Instance);

    /// <summary>The hostile image's bytes, built with QEMU the first time a test asks for this row.</summary>
    protected byte[] Build(HostileImage h) =>
        Built.GetOrAdd(h, row => new Lazy<byte[]>(() => BuildNow(row))).Value;

    /// <summary>Builds the hostile image in a folder of the current test and returns its bytes.</summary>
    private byte[] BuildNow(HostileImage h)
    {
        string dir = SubDir("build");
        string path = Path.Combine(dir, "t.img");
        if (h.Contents is not null)
        {
            File.WriteAllBytes(path, h.Contents);
            return h.Contents;
        }
        string[] create = h.Options.Length == 0
            ? ["create", "-q", "-f", "qcow2", "t.img", h.Size]
            : ["create", "-q", "-f", "qcow2", "-o", h.Options, "t.img", h.Size];
        var r = Qemu("qemu-img", dir, create);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        foreach (var step in h.Before)
        {
            r = Qemu(step[0], dir, step[1..]);
            Assert.That(r.ExitCode, Is.EqualTo(0), $"{string.Join(' ', step)}\n{r}");
        }
        foreach (var p in h.Pokes(path).ToList())
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
            f.Position = p.Offset;
            f.Write(p.Data);
        }
        if (h.TruncateTo is long len)
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
            f.SetLength(len);
        }
        return File.ReadAllBytes(path);
    }

    /// <summary>
    /// The QEMU commands that more than one test runs on the same row's image (a row's Extra command that
    /// HostileCommandsTests also runs, such as check -r all of nb_snapshots-ffffffff-with-bitmap, 11 s of QEMU CPU), by
    /// Key: those run once per test run. A row's image is the same bytes for every test (Build), so the same key is the
    /// same input.
    /// </summary>
    private static readonly Lazy<HashSet<string>> Repeated = new(() =>
    [
        .. HostileImageTests.QemuRuns().Concat(HostileCommandsTests.QemuRuns())
            .GroupBy(r => Key(r.Row, r.Tool, r.Args)).Where(g => g.Count() > 1).Select(g => g.Key),
    ]);

    /// <summary>
    /// Whether QEMU's answer to a command on a row is compared: not on a row our tools refuse by design, nor on one they
    /// probe differently by design unless the command names the format (-f), nor for a qemu-img command the row leaves
    /// out of QEMU's runs for its cost (QemuLeftOut).
    /// </summary>
    protected static bool Compared(HostileImage h, string[] args) =>
        h.RefusedByDesign is null && (h.ProbedDifferently is null || args.Contains("-f")) && !(args is [var name, ..] && h.QemuLeftOut.Contains(name));

    /// <summary>What names one QEMU command on one row's image.</summary>
    private static string Key(string row, string tool, string[] args) => string.Join('\0', [row, tool, .. args]);

    /// <summary>
    /// Runs qemu-img or qemu-io on a row's image, already written to t.img in an otherwise empty folder. A command that
    /// another test also runs on this row (Repeated) runs once (<see cref="RunOnce"/>): the later test gets the same
    /// output, and its folder gets the files QEMU left.
    /// </summary>
    protected ToolRun QemuOn(string row, string tool, string dir, string[] args)
    {
        string key = Key(row, tool, args);
        if (!Repeated.Value.Contains(key))
        {
            return Qemu(tool, dir, args);
        }
        // Prefixed, apart from the keys of RunOnce's other users.
        return RunOnce.Run("hostile\0" + key, dir, () => Qemu(tool, dir, args), _ => Directory.GetFiles(dir).Select(f => Path.GetFileName(f)))!;
    }

    /// <summary>The first offset at which a file differs from the given bytes (the shorter length when one is a prefix), or -1.</summary>
    protected static long FirstDifference(byte[] expected, string path)
    {
        using var f = File.OpenHandle(path);
        // One byte past the expected length is enough to tell a longer file.
        var head = new byte[Math.Min(RandomAccess.GetLength(f), expected.Length + 1L)];
        FileBytes.ReadFully(f, head, 0);
        return FirstDifference(expected, head);
    }

    /// <summary>Runs one of our tools in-process on a worker thread, with a time limit, counting what it allocates.</summary>
    protected static (ToolRun? Run, TimeSpan Elapsed, long Allocated, Exception? Crash) RunBounded(string tool, string dir, string[] args)
    {
        Func<string[], ToolContext, int> entry = tool == "qio" ? QioTool.Run : QimgTool.Run;
        var sw = Stopwatch.StartNew();
        // Counted on the worker thread itself, so tests running in parallel do not add their allocations.
        var task = Task.Run(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var run = Support.InProcess.Run(entry, dir, args);
            return (run, GC.GetAllocatedBytesForCurrentThread() - before);
        });
        try
        {
            if (!task.Wait(Limit))
            {
                return (null, sw.Elapsed, 0, null);
            }
        }
        catch (AggregateException e)
        {
            return (null, sw.Elapsed, 0, e.InnerException ?? e);
        }
        return (task.Result.run, sw.Elapsed, task.Result.Item2, null);
    }
}
