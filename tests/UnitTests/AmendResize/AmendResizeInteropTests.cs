using System.Text.RegularExpressions;
using Qcow2.Storage;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.AmendResize;

/// <summary>
/// qimg amend and qimg resize against qemu-img 7.2 on identical copies of images made by qemu-img and qemu-io:
/// stdout, stderr (program name mapped), exit code, the image bytes afterwards and how the file sits on disk (blocks
/// allocated, data and hole extents) must be the same, and an image the command changed must pass qemu-img check.
/// </summary>
[TestFixture]
public class AmendResizeInteropTests : InteropFixture
{
    /// <summary>A shell function that overwrites bytes of a file with a hex string (printf | dd conv=notrunc).</summary>
    private const string Poke = "poke() { printf \"$(echo $3 | sed 's/../\\\\x&/g')\" | dd of=\"$1\" bs=1 seek=$(($2)) conv=notrunc status=none; }; ";

    private const string Plain = "qemu-img create -f qcow2 img.qcow2 64M";

    private const string Data = "qemu-img create -f qcow2 img.qcow2 64M && qemu-io -c 'write -P 1 0 1M' -c 'write -z 2M 512k' "
        + "-c 'write -c -P 2 4M 64k' -c 'write -P 3 40M 128k' -c 'write -z -u 40M 64k' -c 'discard 5M 64k' img.qcow2";

    private const string Backed = "qemu-img create -f qcow2 base.qcow2 128M && qemu-io -c 'write -P 9 0 16M' base.qcow2 "
        + "&& qemu-img create -f qcow2 -b base.qcow2 -F qcow2 img.qcow2 64M "
        + "&& qemu-io -c 'write -z 0 1M' -c 'write -P 1 2M 64k' -c 'write -z 3M 64k' img.qcow2 "
        + "&& qemu-img snapshot -c s img.qcow2 && qemu-io -c 'write -z 8M 64k' img.qcow2";

    private const string V2WithSnapshot = "qemu-img create -f qcow2 -o compat=0.10 img.qcow2 64M "
        + "&& qemu-io -c 'write -P 1 0 1M' img.qcow2 && qemu-img snapshot -c s img.qcow2";

    private const string Dirty = "qemu-img create -f qcow2 -o lazy_refcounts=on img.qcow2 64M "
        + "&& (qemu-io -c 'write -P 1 0 1M' -c abort img.qcow2; true)";

    private static string Layered(int clusterSize, int refcountBits) =>
        $"qemu-img create -f qcow2 -o cluster_size={clusterSize},refcount_bits={refcountBits} img.qcow2 64M "
        + "&& qemu-io -c 'write -P 1 0 1M' -c 'write -z 2M 512k' -c 'write -c -P 2 4M 64k' -c 'write -P 3 40M 128k' "
        + "-c 'write -z -u 40M 64k' img.qcow2"
        + (refcountBits > 1 ? " && qemu-img snapshot -c s1 img.qcow2 && qemu-io -c 'write -z 0 128k' -c 'write -P 4 50M 64k' img.qcow2" : "");

    /// <summary>Three snapshots over data, overwrites and compressed clusters; the shrink cuts into all of them.</summary>
    private static string Snapshots(int clusterSize) =>
        $"qemu-img create -f qcow2 -o cluster_size={clusterSize} img.qcow2 8M && qemu-io -c 'write -P 1 0 3M' -c 'write -P 5 5M 1M' img.qcow2 "
        + "&& qemu-img snapshot -c a img.qcow2 && qemu-io -c 'write -P 2 1M 256k' -c 'write -P 6 6M 512k' img.qcow2 "
        + "&& qemu-img snapshot -c b img.qcow2 && qemu-io -c 'write -c -P 7 7M 512k' img.qcow2 "
        + "&& qemu-img snapshot -c c img.qcow2 && qemu-io -c 'write -P 4 5M 64k' img.qcow2";

    private const string Compressed = "qemu-img create -f qcow2 -o cluster_size=4096 img.qcow2 16M "
        + "&& qemu-io -c 'write -c -P 1 0 2M' -c 'write -c -P 2 8M 4M' img.qcow2 && qemu-img snapshot -c s img.qcow2 "
        + "&& qemu-io -c 'write -c -P 3 13M 1M' -c 'write -P 4 14M 64k' img.qcow2";

    private const string ExtendedL2 = "qemu-img create -f qcow2 -o cluster_size=16384,extended_l2=on img.qcow2 16M "
        + "&& qemu-io -c 'write -P 1 0 2M' -c 'write -P 2 8M 1k' -c 'write -P 2 9M 64k' img.qcow2 && qemu-img snapshot -c s img.qcow2 "
        + "&& qemu-io -c 'write -P 3 9M 4k' img.qcow2";

    private const string Lazy = "qemu-img create -f qcow2 -o cluster_size=512,lazy_refcounts=on img.qcow2 8M "
        + "&& qemu-io -c 'write -P 1 0 2M' -c 'write -P 2 4M 2M' img.qcow2 && qemu-img snapshot -c s img.qcow2 && qemu-io -c 'write -P 3 5M 64k' img.qcow2";

    /// <summary>A lazy-refcounts image left dirty: opening it for the resize rebuilds the refcounts (new blocks side by side).</summary>
    private const string LazyDirty = "qemu-img create -f qcow2 -o cluster_size=512,lazy_refcounts=on img.qcow2 16M "
        + "&& (qemu-io -c 'write -P 1 0 2M' -c 'write -P 2 8M 4M' -c abort img.qcow2; true)";

    /// <summary>The snapshot made by iotest 080's setup, then a poke into its table entry (at the header's snapshots_offset).</summary>
    private static string SnapshotEntryPoke(int field, string hex) =>
        Poke + "qemu-img create -f qcow2 img.qcow2 64M && qemu-io -c 'write 0 512' img.qcow2 && qemu-img snapshot -c test img.qcow2 "
        + "&& so=$(od -An -tx8 --endian=big -j64 -N8 img.qcow2 | tr -d ' ') && poke img.qcow2 $((0x$so+" + field + ")) " + hex;

    private static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case(string name, string setup, params string[] args) => new TestCaseData(setup, args).SetName("Amend_resize_match_qemu_img(" + name + ")");

        // Resize
        yield return Case("grow", Plain, "resize", "img.qcow2", "128M");
        yield return Case("grow past one L1 cluster", Data, "resize", "img.qcow2", "+5G");
        yield return Case("shrink without --shrink", Data, "resize", "img.qcow2", "32M");
        yield return Case("shrink", Data, "resize", "--shrink", "img.qcow2", "3M");
        yield return Case("shrink relative", Data, "resize", "--shrink", "img.qcow2", "-30M");
        yield return Case("shrink unaligned end", "qemu-img create -f qcow2 img.qcow2 1000k", "resize", "--shrink", "img.qcow2", "999k");
        yield return Case("size not a sector multiple", Plain, "resize", "--shrink", "img.qcow2", "1000");
        yield return Case("size zero", Plain, "resize", "--shrink", "img.qcow2", "0");
        yield return Case("size negative", Plain, "resize", "img.qcow2", "-64M");
        yield return Case("size invalid", Plain, "resize", "img.qcow2", "abc");
        yield return Case("size 1E", Plain, "resize", "img.qcow2", "1E");
        yield return Case("size 9E", Plain, "resize", "img.qcow2", "9E");
        yield return Case("no size", Plain, "resize", "img.qcow2");
        yield return Case("two sizes", Plain, "resize", "img.qcow2", "1M", "2M");
        yield return Case("quiet", Plain, "resize", "-q", "img.qcow2", "128M");
        yield return Case("-U", Plain, "resize", "-U", "img.qcow2", "128M");
        yield return Case("bad preallocation", Plain, "resize", "--preallocation=bogus", "img.qcow2", "128M");
        yield return Case("preallocation on shrink", Plain, "resize", "--shrink", "--preallocation=metadata", "img.qcow2", "32M");
        yield return Case("preallocation metadata", Data, "resize", "--preallocation=metadata", "img.qcow2", "100000k");
        yield return Case("v2 with snapshot", V2WithSnapshot, "resize", "img.qcow2", "128M");
        yield return Case("v3 with snapshot shrink", Layered(4096, 16), "resize", "--shrink", "img.qcow2", "4M");
        yield return Case("backing larger than image", Backed, "resize", "img.qcow2", "100M");
        yield return Case("backed shrink", Backed, "resize", "--shrink", "img.qcow2", "1M");
        yield return Case("dirty image", Dirty, "resize", "img.qcow2", "1G");
        yield return Case("shrink three snapshots cs=512", Snapshots(512), "resize", "--shrink", "img.qcow2", "1M");
        yield return Case("shrink three snapshots cs=65536", Snapshots(65536), "resize", "--shrink", "img.qcow2", "1M");
        yield return Case("shrink compressed with snapshot", Compressed, "resize", "--shrink", "img.qcow2", "5M");
        yield return Case("shrink extended L2", ExtendedL2, "resize", "--shrink", "img.qcow2", "1M");
        yield return Case("shrink lazy refcounts", Lazy, "resize", "--shrink", "img.qcow2", "1M");
        yield return Case("shrink dirty lazy refcounts", LazyDirty, "resize", "--shrink", "img.qcow2", "1M");
        yield return Case("raw", "qemu-img create -f raw img.qcow2 1M", "resize", "-f", "raw", "img.qcow2", "3M");
        foreach (int cs in new[] { 512, 65536 })
        {
            foreach (int rb in new[] { 1, 16, 64 })
            {
                yield return Case($"shrink cs={cs} rb={rb}", Layered(cs, rb), "resize", "--shrink", "img.qcow2", "1M");
                yield return Case($"amend compat=0.10 cs={cs} rb={rb}", Layered(cs, rb), "amend", "-o", "compat=0.10", "img.qcow2");
                // QEMU 7.2's CPU for a refcount width change of the 1-bit image grows about with the square of the
                // entries per refcount block (measured: 14 s at 64 KiB clusters, 524288 entries; 0.9 s at 16 KiB; 0.05 s
                // at 4 KiB; ours 0.03 s at 64 KiB), so the 1-bit width change is made at 16 KiB below instead.
                if (cs != 65536 || rb != 1)
                {
                    yield return Case($"amend refcount_bits=16,compat=0.10 cs={cs} rb={rb}", Layered(cs, rb), "amend", "-o", "refcount_bits=16,compat=0.10", "img.qcow2");
                    yield return Case($"amend refcount_bits=2 cs={cs} rb={rb}", Layered(cs, rb), "amend", "-o", "refcount_bits=2", "img.qcow2");
                }
            }
        }
        yield return Case("amend refcount_bits=2 cs=16384 rb=1", Layered(16384, 1), "amend", "-o", "refcount_bits=2", "img.qcow2");

        // Amend
        yield return Case("amend progress downgrade", Layered(4096, 16), "amend", "-p", "-o", "compat=0.10", "img.qcow2");
        yield return Case("amend progress refcount width", Data, "amend", "-p", "-o", "refcount_bits=8", "img.qcow2");
        yield return Case("amend backed downgrade", Backed, "amend", "-o", "compat=0.10", "img.qcow2");
        yield return Case("amend upgrade v2 snapshot", V2WithSnapshot, "amend", "-o", "compat=1.1,refcount_bits=8", "img.qcow2");
        yield return Case("amend v2 refcount width", V2WithSnapshot, "amend", "-o", "refcount_bits=8", "img.qcow2");
        yield return Case("amend v2 lazy refcounts", V2WithSnapshot, "amend", "-o", "lazy_refcounts=on", "img.qcow2");
        yield return Case("amend lazy refcounts on", Data, "amend", "-o", "lazy_refcounts=on", "img.qcow2");
        yield return Case("amend dirty lazy off", Dirty, "amend", "-o", "lazy_refcounts=off", "img.qcow2");
        yield return Case("amend dirty downgrade", Dirty, "amend", "-o", "compat=0.10", "img.qcow2");
        yield return Case("amend size", Data, "amend", "-o", "size=32M", "img.qcow2");
        yield return Case("amend cluster_size", Plain, "amend", "-o", "cluster_size=4096", "img.qcow2");
        yield return Case("amend unknown option", Plain, "amend", "-o", "foo=1", "img.qcow2");
        yield return Case("amend unknown compat", Plain, "amend", "-o", "compat=0.9", "img.qcow2");
        yield return Case("amend refcount_bits=3", Plain, "amend", "-o", "refcount_bits=3", "img.qcow2");
        yield return Case("amend refcount_bits=abc", Plain, "amend", "-o", "refcount_bits=abc", "img.qcow2");
        yield return Case("amend backing file", Backed, "amend", "-o", "backing_fmt=qcow2", "img.qcow2");
        yield return Case("amend data_file_raw", Plain, "amend", "-o", "data_file_raw=on", "img.qcow2");
        yield return Case("amend encrypt", Plain, "amend", "-o", "encrypt.keyslot=1", "img.qcow2");
        yield return Case("amend help", Plain, "amend", "-o", "help", "img.qcow2");
        yield return Case("amend -f qcow2 help", Plain, "amend", "-f", "qcow2", "-o", "help");
        yield return Case("amend -f raw help", Plain, "amend", "-f", "raw", "-o", "help");
        yield return Case("amend no options", Plain, "amend", "img.qcow2");
        yield return Case("amend no file", Plain, "amend", "-o", "compat=1.1");
        yield return Case("amend bad cache", Plain, "amend", "-t", "bogus", "-o", "compat=1.1", "img.qcow2");
        yield return Case("amend raw", "qemu-img create -f raw img.qcow2 1M", "amend", "-f", "raw", "-o", "compat=1.1", "img.qcow2");

        // iotest 060 and 080 cases that amend or resize.
        yield return Case("060 unaligned L1 entry", Poke + "qemu-img create -f qcow2 img.qcow2 64M && qemu-io -c 'write 0 64k' img.qcow2 "
            + "&& poke img.qcow2 0x30000 8000000000042a00", "amend", "-o", "compat=0.10", "img.qcow2");
        yield return Case("060 unaligned preallocated zero cluster", Poke + "qemu-img create -f qcow2 img.qcow2 64M && qemu-io -c 'write 0 64k' img.qcow2 "
            + "&& poke img.qcow2 0x40000 8000000000052a01", "amend", "-o", "compat=0.10", "img.qcow2");
        string[] refblockPokes =
        [
            "qemu-img create -f qcow2 img.qcow2 64M && poke img.qcow2 0x10008 00ffffff00000000",
            "qemu-img create -f qcow2 -o refcount_bits=1 img.qcow2 64M && poke img.qcow2 0x10008 0000001000000000",
            "qemu-img create -f qcow2 -o refcount_bits=1 img.qcow2 64M && poke img.qcow2 0x10008 0000001000000000 && poke img.qcow2 0x10010 0000000000000200",
        ];
        string[] names = ["out-of-bounds refblock", "non-covered in-bounds refblock", "refblock covered by an unaligned refblock"];
        for (int i = 0; i < refblockPokes.Length; i++)
        {
            yield return Case("060 " + names[i], Poke + refblockPokes[i], "resize", "--shrink", "img.qcow2", "32M");
            yield return Case("060 " + names[i] + " after repair", Poke + refblockPokes[i]
                + "; qemu-img resize --shrink img.qcow2 32M; qemu-img check -r all img.qcow2; qemu-img check -r all img.qcow2; true",
                "resize", "--shrink", "img.qcow2", "32M");
        }
        yield return Case("080 row 18 unaligned snapshot L1", SnapshotEntryPoke(0, "0000000000400200"), "amend", "-o", "compat=0.10", "img.qcow2");
        yield return Case("080 row 19 snapshot L1 too large", SnapshotEntryPoke(8, "10000000"), "amend", "-o", "compat=0.10", "img.qcow2");
    }

    [TestCaseSource(nameof(Cases))]
    public void Amend_resize_match_qemu_img(string setup, string[] args)
    {
        Compare(Dir, setup, args);
    }

    private static void Compare(string src, string setup, string[] args)
    {
        // Several cases share a setup: QEMU builds each one once per run (BuiltOnce), later cases get copies.
        BuiltOnce.Folder(setup, src, dir =>
        {
            var made = ToolProcess.Run("bash", dir, "-c", setup);
            Assert.That(File.Exists(Path.Combine(dir, "img.qcow2")), Is.True, $"setup failed: {made.Err}");
        });
        string q = CopyDir(src, "q"), o = CopyDir(src, "o");

        var (qCode, qOut, qErr) = ToolProcess.Run("qemu-img", q, args);
        var (oCode, oOut, oErr) = InProcess.Qimg(o, args);

        string expectedErr = Regex.Replace(qErr, "^qemu-img: ", "qimg: ", RegexOptions.Multiline)
            .Replace("Try 'qemu-img --help'", "Try 'qimg --help'", StringComparison.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(oOut, Is.EqualTo(qOut), "stdout");
            Assert.That(oErr, Is.EqualTo(expectedErr), "stderr");
            Assert.That(oCode, Is.EqualTo(qCode), "exit code");
            var same = ToolProcess.Run("cmp", src, Path.Combine(q, "img.qcow2"), Path.Combine(o, "img.qcow2"));
            Assert.That(same.ExitCode, Is.EqualTo(0), "image bytes: " + same.Out + same.Err);
            // Holes count too: the blocks written, punched and cut off must be QEMU's (st_blocks and the data extents).
            string qFile = Path.Combine(q, "img.qcow2"), oFile = Path.Combine(o, "img.qcow2");
            Assert.That(DiskLayout.Of(oFile), Is.EqualTo(DiskLayout.Of(qFile)),
                $"allocation on disk (st_blocks: qemu-img {HostFile.AllocatedBytes(qFile, 0) / 512}, qimg {HostFile.AllocatedBytes(oFile, 0) / 512})");
        });
        if (oCode == 0 && !args.Contains("raw") && !args.Contains("help"))
        {
            // QEMU's own result is the reference: a downgrade that expands a preallocated zero cluster shared with a
            // snapshot leaves a wrong COPIED flag in QEMU 7.2 too, and qimg reproduces it.
            var qCheck = ToolProcess.Run("qemu-img", q, "check", "img.qcow2");
            var oCheck = ToolProcess.Run("qemu-img", o, "check", "img.qcow2");
            Assert.That(oCheck.ExitCode, Is.EqualTo(qCheck.ExitCode), "qemu-img check on qimg's image:\n" + oCheck.Out + oCheck.Err);
            if (args.Contains("resize") || args.Contains("refcount_bits=2") || args.Contains("lazy_refcounts=off"))
            {
                Assert.That(oCheck.ExitCode, Is.EqualTo(0), "qemu-img check on qimg's image:\n" + oCheck.Out + oCheck.Err);
            }
        }
    }

    /// <summary>Copies the setup's files keeping them sparse (a repaired image can span 64 GiB of holes).</summary>
    private static string CopyDir(string src, string name)
    {
        string dst = Path.Combine(src, name);
        Directory.CreateDirectory(dst);
        foreach (string f in Directory.GetFiles(src))
        {
            var r = ToolProcess.Run("cp", src, "--sparse=always", f, Path.Combine(dst, Path.GetFileName(f)));
            Assert.That(r.ExitCode, Is.EqualTo(0), "cp: " + r.Err);
        }
        return dst;
    }
}
