using System.Text.RegularExpressions;
using Qcow2.Corpus.Hostile;
using Qcow2.Tools.Qimg;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Hostile;

/// <summary>
/// Every hostile image of the catalogue through the qimg commands that read or rewrite a whole image (map, check and
/// check -r all, snapshot -l, convert to raw and qcow2, compare, bitmap --add, rebase -u, commit, resize, amend to
/// compat=0.10, info --backing-chain and, once it exists, measure): our
/// tool prints what qemu-img prints with the same exit code, leaves the image and writes the output files as QEMU does
/// (and no other file), never throws, finishes within seconds and never allocates anything near what the fields ask for.
/// A row whose every open costs QEMU seconds names the few commands it goes through (HostileImage.WholeImageCommands);
/// a row where some commands cost QEMU the same seconds leaves QEMU's run of all but one of them out (HostileImage.QemuLeftOut).
/// </summary>
[TestFixture]
[Category("slow")]
[ParallelInterop]
public class HostileCommandsTests : HostileFixture
{
    /// <summary>The commands, each with a short label for the test name; measure only when qimg has it.</summary>
    private static readonly (string Label, string[] Args)[] Commands =
    [
        ("map", ["map", "--output=json", "t.img"]),
        ("check", ["check", "t.img"]),
        ("snapshot-l", ["snapshot", "-l", "t.img"]),
        ("convert-raw", ["convert", "-O", "raw", "t.img", "out.raw"]),
        ("convert-qcow2", ["convert", "-O", "qcow2", "t.img", "out.qcow2"]),
        ("compare", ["compare", "t.img", "t.img"]),
        ("bitmap-add", ["bitmap", "--add", "t.img", "b0"]),
        ("rebase-u", ["rebase", "-u", "-b", "", "t.img"]),
        ("commit", ["commit", "t.img"]),
        ("check-r-all", ["check", "-r", "all", "t.img"]),
        ("resize", ["resize", "t.img", "+1M"]),
        ("amend-compat", ["amend", "-o", "compat=0.10", "t.img"]),
        ("info-chain", ["info", "--backing-chain", "t.img"]),
        .. QimgCommands.Find("measure") is null ? [] : new[] { ("measure", new[] { "measure", "-O", "qcow2", "t.img" }) },
    ];

    /// <summary>Every row with each of its commands.</summary>
    private static IEnumerable<(string Row, string Label, string[] Args)> Rows() =>
        from k in HostileCatalogue.All.Keys
        from c in Commands
        where HostileCatalogue.All[k].WholeImageCommands?.Contains(c.Label) ?? true
        select (k, c.Label, c.Args);

    private static IEnumerable<TestCaseData> Cases() =>
        Rows().Select(r => new TestCaseData(r.Row, r.Label, r.Args).SetName($"Hostile_image_command_handled_like_qemu({r.Row}, {r.Label})"));

    /// <summary>The QEMU commands these tests compare with, on the row's image.</summary>
    internal static IEnumerable<(string Row, string Tool, string[] Args)> QemuRuns() =>
        Rows().Where(r => Compared(HostileCatalogue.All[r.Row], r.Args)).Select(r => (r.Row, "qemu-img", r.Args));

    [Test]
    public void Every_command_a_row_names_is_one_of_these()
    {
        var labels = Commands.Select(c => c.Label).ToHashSet();
        foreach (var (name, h) in HostileCatalogue.All)
        {
            Assert.That((h.WholeImageCommands ?? []).Concat(h.QemuLeftOut).Where(l => !labels.Contains(l)), Is.Empty, name);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Hostile_command(string name, string label, string[] args)
    {
        var h = HostileCatalogue.All[name];
        byte[] original = Build(h);
        string qdir = SubDir("q"), mdir = SubDir("m");
        File.WriteAllBytes(Path.Combine(qdir, "t.img"), original);
        File.WriteAllBytes(Path.Combine(mdir, "t.img"), original);
        string what = $"{name}: qimg {string.Join(' ', args.Select(a => a.Length == 0 ? "\"\"" : a))}";

        // QEMU's answer only matters where it is compared.
        var theirs = Compared(h, args) ? QemuOn(name, "qemu-img", qdir, args) : null;
        var (ours, elapsed, allocated, crash) = RunBounded("qimg", mdir, args);
        Assert.That(crash, Is.Null, $"{what}: threw {crash?.GetType().Name}: {crash?.Message}\n{crash?.StackTrace}");
        Assert.That(ours, Is.Not.Null, $"{what}: still running after {Limit}");
        Assert.That(elapsed, Is.LessThan(Limit), $"{what}: took {elapsed}");
        Assert.That(allocated, Is.LessThan(AllocationLimit), $"{what}: allocated {allocated >> 20} MiB");
        Assert.That(Fuzz.DotnetText.Find(ours!.Out + ours.Err), Is.Null, $"{what}: .NET exception text in the output\n{ours}");
        string oursAfter = Path.Combine(mdir, "t.img"), theirsAfter = Path.Combine(qdir, "t.img");
        string[] ourFiles = FileNames(mdir), theirFiles = FileNames(qdir);

        if (theirs is null)
        {
            Assert.Multiple(() =>
            {
                Assert.That(FirstDifference(original, oursAfter), Is.EqualTo(-1), $"{what}: our tool changed the file");
                if (h.RefusedByDesign is not null)
                {
                    Assert.That(ours.ExitCode, Is.Not.EqualTo(0), $"{what}: accepted an image it cannot handle\n{ours}");
                    Assert.That(ourFiles, Is.EqualTo(new[] { "t.img" }), $"{what}: wrote another file while refusing the image");
                }
            });
            return;
        }
        // Built only for a failure: the outputs of the 65536-snapshot rows run to megabytes.
        string Context() => $"{what}\n--- ours\n{ours}\n--- QEMU\n{theirs}";
        Assert.Multiple(() =>
        {
            Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), () => $"{Context()}\nexit code");
            if (h.StderrDiffers is null)
            {
                // Block node names count from #block001 here and process-wide in QEMU (CONTRIBUTING.md, "Node names").
                Assert.That(MaskNodeNames(ours.Err), Is.EqualTo(MaskNodeNames(Normalize(theirs.Err))), () => $"{Context()}\nstderr");
            }
            Assert.That(Normalize(ours.Out), Is.EqualTo(Normalize(theirs.Out)), () => $"{Context()}\nstdout");
            Assert.That(FileBytes.FirstDifference(theirsAfter, oursAfter), Is.EqualTo(-1),
                () => $"{what}: the image differs from QEMU's afterwards (unchanged by QEMU: {FirstDifference(original, theirsAfter) == -1})");
            Assert.That(ourFiles, Is.EqualTo(theirFiles), $"{what}: the files in the folder differ from QEMU's");
            foreach (string f in ourFiles.Intersect(theirFiles).Where(f => f != "t.img"))
            {
                long at = FileBytes.FirstDifference(Path.Combine(qdir, f), Path.Combine(mdir, f));
                Assert.That(at, Is.EqualTo(-1), $"{what}: {f} differs from QEMU's at 0x{at:x}");
            }
        });
    }

    /// <summary>Replaces the numbers of automatic block node names ('#block123').</summary>
    private static string MaskNodeNames(string text) => Regex.Replace(text, "#block[0-9]+", "#blockNNN");

    /// <summary>The sorted names of the files in a folder.</summary>
    private static string[] FileNames(string dir) =>
        [.. Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];
}
