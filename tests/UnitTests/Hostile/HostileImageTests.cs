using System.Diagnostics;
using Qcow2.Cli;
using Qcow2.Tools.Qimg;
using Qcow2.Tools.Qio;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Hostile;

/// <summary>
/// Every hostile image of the catalogue, opened by qio (read 0 512, probed and with -f qcow2) and qimg (info, human and
/// JSON) and by the extra commands of its row: our tools print what qemu-io/qemu-img print (program names mapped) with
/// the same exit code, leave the file as QEMU leaves it, never throw, never print a stack trace, finish within seconds
/// and never allocate anything near the sizes the hostile fields ask for.
/// </summary>
[TestFixture]
[Category("Interop")]
[NonParallelizable]
public class HostileImageTests : InteropFixture
{
    /// <summary>Longest a run may take: QEMU answers all of these in milliseconds.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>The most one run may allocate: the largest legal tables (a 32 MiB L1; 65536 snapshots printed as JSON), with room to spare.</summary>
    private const long AllocationLimit = 512L << 20;

    private static readonly (string Tool, string[] Args)[] Common =
    [
        ("qio", ["-c", "read 0 512", "t.img"]),
        ("qio", ["-f", "qcow2", "-c", "read 0 512", "t.img"]),
        ("qimg", ["info", "t.img"]),
        ("qimg", ["info", "-f", "qcow2", "--output=json", "t.img"]),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        HostileCatalogue.All.Keys.Select(k => new TestCaseData(k).SetName($"Hostile_image_handled_like_qemu({k})"));

    /// <summary>Builds the hostile image in a folder and returns its bytes.</summary>
    private byte[] Build(HostileImage h)
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

    [TestCaseSource(nameof(Cases))]
    public void Hostile(string name)
    {
        var h = HostileCatalogue.All[name];
        byte[] original = Build(h);
        int n = 0;
        Assert.Multiple(() =>
        {
            foreach (var (tool, args) in (h.Commands ?? Common).Concat(h.Extra))
            {
                n++;
                string qdir = SubDir($"q{n}"), mdir = SubDir($"m{n}");
                File.WriteAllBytes(Path.Combine(qdir, "t.img"), original);
                File.WriteAllBytes(Path.Combine(mdir, "t.img"), original);
                string what = $"{name}: {tool} {string.Join(' ', args)}";

                var theirs = Qemu(tool == "qio" ? "qemu-io" : "qemu-img", qdir, args);
                var (ours, elapsed, allocated, crash) = RunBounded(tool, mdir, args);
                if (crash is not null)
                {
                    Assert.Fail($"{what}: threw {crash.GetType().Name}: {crash.Message}");
                    continue;
                }
                Assert.That(elapsed, Is.LessThan(Limit), $"{what}: took {elapsed}");
                if (ours is null)
                {
                    continue;
                }
                Assert.That(allocated, Is.LessThan(AllocationLimit), $"{what}: allocated {allocated >> 20} MiB");
                Assert.That(ours.Out + ours.Err, Does.Not.Contain("   at ").And.Not.Contain("Exception"), $"{what}: stack trace or exception text\n{ours}");
                byte[] oursAfter = File.ReadAllBytes(Path.Combine(mdir, "t.img"));
                byte[] theirsAfter = File.ReadAllBytes(Path.Combine(qdir, "t.img"));

                bool probed = !args.Contains("-f");
                if (h.RefusedByDesign is not null || (h.ProbedDifferently is not null && probed))
                {
                    Assert.That(FirstDifference(original, oursAfter), Is.EqualTo(-1), $"{what}: our tool changed the file");
                    if (h.RefusedByDesign is not null)
                    {
                        Assert.That(ours.ExitCode, Is.Not.EqualTo(0), $"{what}: accepted an image it cannot handle\n{ours}");
                    }
                    continue;
                }
                string context = $"{what}\n--- ours\n{ours}\n--- QEMU\n{theirs}";
                Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), $"{context}\nexit code");
                if (h.StderrDiffers is null)
                {
                    Assert.That(ours.Err, Is.EqualTo(Normalize(theirs.Err)), $"{context}\nstderr");
                }
                Assert.That(Normalize(ours.Out), Is.EqualTo(Normalize(theirs.Out)), $"{context}\nstdout");
                Assert.That(FirstDifference(theirsAfter, oursAfter), Is.EqualTo(-1),
                    $"{what}: the file differs from QEMU's afterwards (unchanged by QEMU: {FirstDifference(original, theirsAfter) == -1})");
            }
        });
    }

    /// <summary>Runs one of our tools in-process on a worker thread, with a time limit, counting what it allocates.</summary>
    private static (ToolRun? Run, TimeSpan Elapsed, long Allocated, Exception? Crash) RunBounded(string tool, string dir, string[] args)
    {
        Func<string[], ToolContext, int> entry = tool == "qio" ? QioTool.Run : QimgTool.Run;
        var sw = Stopwatch.StartNew();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var task = Task.Run(() => InProcess(entry, dir, args));
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
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        return (task.Result, sw.Elapsed, allocated, null);
    }
}
