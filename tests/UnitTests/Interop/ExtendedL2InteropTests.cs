using System.Globalization;

namespace Qcow2.UnitTests.Interop;

/// <summary>
/// Extended L2 entries (extended_l2=on) against QEMU 7.2: the same qemu-io write sequence gives byte-identical image
/// files through qio and qemu-io, qimg map equals qemu-img map on both, qemu-img check is clean on ours, images QEMU
/// writes read the same through qimg convert, and qimg check reports broken subcluster bitmaps as qemu-img check does.
/// </summary>
[TestFixture]
[Category("Interop")]
public class ExtendedL2InteropTests : InteropFixture
{
    /// <summary>Write sequences with subclusters in play (2 KiB ones with 64 KiB clusters, 512 bytes with 16 KiB).</summary>
    private static readonly Dictionary<string, string[]> Workloads = new()
    {
        ["partial-writes"] = ["write -P 0x11 0 4k", "write -P 0x22 10k 1k", "write -P 0x33 100k 70k", "write -P 0x44 2050k 1k",
            "write -P 0x55 1500 3000", "write -P 0x66 2048k 64k"],
        ["zero-discard"] = ["write -P 1 0 200k", "write -z 2k 4k", "write -z 700 9000", "write -z -u 64k 64k", "discard 128k 64k",
            "write -P 2 130k 1k", "write -z 1m 200", "write -P 3 1m 100"],
        // One cluster per compressed write (CS is the cluster size): qemu-io compresses the clusters of one request in
        // parallel and places them in the order its threads finish.
        ["compressed"] = ["write -c -P 3 0 CS", "write -P 4 1000 1k", "write -z CS CS", "write -c -P 5 CS CS",
            "write -z 200k 2k", "write -c -P 6 4CS CS", "write -z 4CS 4k"],
    };

    private static readonly string[] Options = ["extended_l2=on", "extended_l2=on,cluster_size=16k", "extended_l2=on,cluster_size=2M",
        "extended_l2=on,preallocation=metadata", "extended_l2=on,lazy_refcounts=on"];

    private static IEnumerable<TestCaseData> Cases() =>
        from o in Options
        from w in Workloads.Keys
        select new TestCaseData(o, w, false).SetName($"Extended_l2_writes_are_byte_identical_to_qemu({o}, {w})");

    private static IEnumerable<TestCaseData> BackingCases() =>
        from w in Workloads.Keys
        select new TestCaseData("extended_l2=on", w, true).SetName($"Extended_l2_overlay_writes_are_byte_identical_to_qemu({w})");

    private static string[] WithC(IEnumerable<string> commands, string image, string options)
    {
        var m = System.Text.RegularExpressions.Regex.Match(options, "cluster_size=([0-9]+)([kM]?)");
        long cs = !m.Success ? 65536 : long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * (m.Groups[2].Value == "k" ? 1024 : m.Groups[2].Value == "M" ? 1 << 20 : 1);
        string Expand(string c) => System.Text.RegularExpressions.Regex.Replace(c, "([0-9]*)CS",
            x => (cs * (x.Groups[1].Value.Length == 0 ? 1 : long.Parse(x.Groups[1].Value, CultureInfo.InvariantCulture))).ToString(CultureInfo.InvariantCulture));
        return [.. commands.SelectMany(c => new[] { "-c", Expand(c) }), image];
    }

    private string[] CreateArgs(string options, string image, bool backing) => backing
        ? ["create", "-q", "-f", "qcow2", "-o", options, "-b", "base.qcow2", "-F", "qcow2", image]
        : ["create", "-q", "-f", "qcow2", "-o", options, image, "4M"];

    [TestCaseSource(nameof(Cases))]
    [TestCaseSource(nameof(BackingCases))]
    public void Writes_match_qemu(string options, string workload, bool backing)
    {
        if (backing)
        {
            Must("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "4M");
            Must("qemu-io", "-c", "write -P 0xaa 0 4M", "base.qcow2");
        }
        Must("qemu-img", CreateArgs(options, "q.qcow2", backing));
        var created = Qimg(null, CreateArgs(options, "o.qcow2", backing));
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
        // A compressed write to a preallocated cluster fails in both (EIO); the exit codes must agree.
        var qemuWrote = Qemu("qemu-io", null, WithC(Workloads[workload], "q.qcow2", options));
        var wrote = Qio(null, WithC(Workloads[workload], "o.qcow2", options));
        Assert.That(Normalize(wrote.Out + wrote.Err), Is.EqualTo(Normalize(qemuWrote.Out + qemuWrote.Err)), wrote.ToString());
        Assert.That(wrote.ExitCode, Is.EqualTo(qemuWrote.ExitCode), wrote.ToString());
        long at = FirstDifference(File.ReadAllBytes(PathOf("q.qcow2")), File.ReadAllBytes(PathOf("o.qcow2")));
        Assert.That(at, Is.EqualTo(-1), $"image files differ at 0x{at:x} ({options}, {workload})");
        string qemuMap = Must("qemu-img", "map", "--output=json", "q.qcow2").Out;
        Assert.That(Qimg(null, "map", "--output=json", "o.qcow2").Out, Is.EqualTo(qemuMap), "qimg map on our image");
        Assert.That(Qimg(null, "map", "--output=json", "q.qcow2").Out, Is.EqualTo(qemuMap), "qimg map on QEMU's image");
        AssertCheckClean("o.qcow2", workload);
        Assert.That(Qimg(null, "check", "q.qcow2").ExitCode, Is.EqualTo(0), "qimg check on QEMU's image");
    }

    [TestCaseSource(nameof(Cases))]
    public void Qemu_written_images_read_the_same(string options, string workload, bool backing)
    {
        Must("qemu-img", CreateArgs(options, "q.qcow2", backing));
        Qemu("qemu-io", null, WithC(Workloads[workload], "q.qcow2", options));
        Must("qemu-img", "convert", "-O", "raw", "q.qcow2", "q.raw");
        var r = Qimg(null, "convert", "-O", "raw", "q.qcow2", "o.raw");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        long at = FirstDifference(File.ReadAllBytes(PathOf("q.raw")), File.ReadAllBytes(PathOf("o.raw")));
        Assert.That(at, Is.EqualTo(-1), $"guest data differs at 0x{at:x}");
        // With compressed clusters the human map stops with an error in both.
        var human = Qemu("qemu-img", null, "map", "q.qcow2");
        var ours = Qimg(null, "map", "q.qcow2");
        Assert.That((ours.ExitCode, ours.Out, Normalize(ours.Err)), Is.EqualTo((human.ExitCode, human.Out, Normalize(human.Err))), "human map");
    }

    /// <summary>Bitmaps QEMU's check rejects, poked into entries 0, 1 and 3 of the first L2 table.</summary>
    [Test]
    public void Check_reports_broken_bitmaps_as_qemu_does()
    {
        Must("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "a.qcow2", "4M");
        Must("qemu-io", "-c", "write -P 1 0 64k", "-c", "write -c -P 2 64k 64k", "-c", "write -P 3 130k 1k", "a.qcow2");
        var bytes = File.ReadAllBytes(PathOf("a.qcow2"));
        long l1 = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(40));
        long l2 = (long)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan((int)l1)) & 0x00fffffffffffe00);
        // A normal cluster with subcluster 0 both allocated and zero; a compressed cluster with a bitmap; an unallocated
        // cluster with allocated subclusters.
        foreach (var (index, bitmap) in new[] { (0, 0x0000000100000001UL), (1, 1UL), (3, 3UL) })
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan((int)l2 + index * 16 + 8), bitmap);
        }
        File.WriteAllBytes(PathOf("a.qcow2"), bytes);
        var qemu = Qemu("qemu-img", null, "check", "a.qcow2");
        var ours = Qimg(null, "check", "a.qcow2");
        Assert.That(qemu.Out + qemu.Err, Does.Contain("subcluster allocation"), qemu.ToString());
        Assert.That((ours.ExitCode, Normalize(ours.Out), Normalize(ours.Err)), Is.EqualTo((qemu.ExitCode, Normalize(qemu.Out), Normalize(qemu.Err))));
    }
}
