using Qcow2.Corpus.Hostile;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Hostile;

/// <summary>
/// Every hostile image of the catalogue, opened by qio (read 0 512, probed and with -f qcow2) and qimg (info, human and
/// JSON) and by the extra commands of its row: our tools print what qemu-io/qemu-img print (program names mapped) with
/// the same exit code, leave the file as QEMU leaves it, never throw, never print a stack trace, finish within seconds
/// and never allocate anything near the sizes the hostile fields ask for.
/// </summary>
[TestFixture]
[ParallelInterop]
public class HostileImageTests : HostileFixture
{
    private static readonly (string Tool, string[] Args)[] Common =
    [
        ("qio", ["-c", "read 0 512", "t.img"]),
        ("qio", ["-f", "qcow2", "-c", "read 0 512", "t.img"]),
        ("qimg", ["info", "t.img"]),
        ("qimg", ["info", "-f", "qcow2", "--output=json", "t.img"]),
    ];

    /// <summary>The commands of a row, each run on a fresh copy of its image.</summary>
    private static IEnumerable<(string Tool, string[] Args)> CommandsOf(HostileImage h) => (h.Commands ?? Common).Concat(h.Extra);

    /// <summary>The QEMU commands these tests compare with, on the row's image.</summary>
    internal static IEnumerable<(string Row, string Tool, string[] Args)> QemuRuns() =>
        from kv in HostileCatalogue.All
        from c in CommandsOf(kv.Value)
        where Compared(kv.Value, c.Args)
        select (kv.Key, c.Tool == "qio" ? "qemu-io" : "qemu-img", c.Args);

    private static IEnumerable<TestCaseData> Cases() =>
        HostileCatalogue.All.Keys.Select(k => new TestCaseData(k).SetName($"Hostile_image_handled_like_qemu({k})"));

    [TestCaseSource(nameof(Cases))]
    public void Hostile(string name)
    {
        var h = HostileCatalogue.All[name];
        byte[] original = Build(h);
        int n = 0;
        Assert.Multiple(() =>
        {
            foreach (var (tool, args) in CommandsOf(h))
            {
                n++;
                string qdir = SubDir($"q{n}"), mdir = SubDir($"m{n}");
                File.WriteAllBytes(Path.Combine(qdir, "t.img"), original);
                File.WriteAllBytes(Path.Combine(mdir, "t.img"), original);
                string what = $"{name}: {tool} {string.Join(' ', args)}";

                // QEMU's answer only matters where it is compared.
                var theirs = Compared(h, args) ? QemuOn(name, tool == "qio" ? "qemu-io" : "qemu-img", qdir, args) : null;
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
                Assert.That(Fuzz.DotnetText.Find(ours.Out + ours.Err), Is.Null, $"{what}: .NET exception text in the output\n{ours}");
                string oursAfter = Path.Combine(mdir, "t.img"), theirsAfter = Path.Combine(qdir, "t.img");

                if (theirs is null)
                {
                    Assert.That(FirstDifference(original, oursAfter), Is.EqualTo(-1), $"{what}: our tool changed the file");
                    if (h.RefusedByDesign is not null)
                    {
                        Assert.That(ours.ExitCode, Is.Not.EqualTo(0), $"{what}: accepted an image it cannot handle\n{ours}");
                    }
                    continue;
                }
                // Built only for a failure: the outputs of the 65536-snapshot rows run to megabytes.
                string Context() => $"{what}\n--- ours\n{ours}\n--- QEMU\n{theirs}";
                Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), () => $"{Context()}\nexit code");
                if (h.StderrDiffers is null)
                {
                    Assert.That(ours.Err, Is.EqualTo(Normalize(theirs.Err)), () => $"{Context()}\nstderr");
                }
                Assert.That(Normalize(ours.Out), Is.EqualTo(Normalize(theirs.Out)), () => $"{Context()}\nstdout");
                Assert.That(FileBytes.FirstDifference(theirsAfter, oursAfter), Is.EqualTo(-1),
                    () => $"{what}: the file differs from QEMU's afterwards (unchanged by QEMU: {FirstDifference(original, theirsAfter) == -1})");
            }
        });
    }
}
