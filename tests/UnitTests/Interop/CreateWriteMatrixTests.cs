using System.Globalization;

namespace Qcow2.UnitTests.Interop;

/// <summary>
/// Images created by qimg and written by qio, for every cluster size × refcount width × compat level: qemu-img check
/// finds nothing, qemu-io reads back what was written, and qemu-img/qemu-io doing the same on a twin give the same bytes.
/// </summary>
[TestFixture]
[Category("Interop")]
public class CreateWriteMatrixTests : InteropFixture
{
    private const long ImageSize = 64L << 20;

    private static readonly int[] ClusterSizes = [512, 4096, 65536, 2 << 20];
    private static readonly int[] RefcountBits = [1, 16, 64];
    private static readonly string[] Compats = ["0.10", "1.1"];

    /// <summary>Most one-cluster compressed writes of the image's tail in the byte-for-byte comparison.</summary>
    private const int MaxTailRequests = 256;

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<TestCaseData> Accepted() =>
        from cs in ClusterSizes
        from rb in RefcountBits
        from c in Compats
        where c == "1.1" || rb == 16
        select new TestCaseData(cs, rb, c).SetName($"Qimg_and_qio_images_pass_qemu({cs}, refcount_bits={rb}, compat={c})");

    private static IEnumerable<TestCaseData> Refused() =>
        from cs in ClusterSizes
        from rb in RefcountBits
        where rb != 16
        select new TestCaseData(cs, rb).SetName($"Qimg_refuses_like_qemu_img({cs}, refcount_bits={rb}, compat=0.10)");

    /// <summary>One region of the guest and the byte the workload leaves in it.</summary>
    private sealed record Region(long Offset, long Length, int Pattern);

    /// <summary>The qemu-io commands of the workload, and the regions they leave behind.</summary>
    private static (string[] Commands, Region[] Expected) Workload(int cs)
    {
        long l2Coverage = Math.Min((long)cs * (cs / 8), 32L << 20);
        long cross = (8L << 20) + 3L * cs - 100;
        long l2Edge = l2Coverage - 1024;
        long discarded = 48L << 20;
        long unmapped = 24L << 20;
        string[] commands =
        [
            "write -P 0x11 0 4k",
            $"write -P 0x22 {cross} 300",
            $"write -P 0x33 {l2Edge} 3k",
            "write -P 0x44 20M 200k",
            "write -z 20544k 64k",
            $"write -P 0x66 {discarded} {2 * cs}",
            $"discard {discarded} {cs}",
            $"write -P 0x77 {unmapped} {2 * cs}",
            $"write -z -u {unmapped} {cs}",
            "write -P 0x88 63M 1M",
        ];
        Region[] expected =
        [
            new(0, 4096, 0x11),
            new(4096, 4096, 0),
            new(cross, 300, 0x22),
            new(l2Edge, 3072, 0x33),
            new(20L << 20, 64 << 10, 0x44),
            new(20544L << 10, 64 << 10, 0),
            new(20608L << 10, 72 << 10, 0x44),
            new(discarded, cs, 0),
            new(discarded + cs, cs, 0x66),
            new(unmapped, cs, 0),
            new(unmapped + cs, cs, 0x77),
            new(63L << 20, 1 << 20, 0x88),
            new(60L << 20, 4096, 0),
        ];
        return (commands, expected);
    }

    private static string[] WithC(IEnumerable<string> commands, string image) =>
        [.. commands.SelectMany(c => new[] { "-c", c }), image];

    [TestCaseSource(nameof(Accepted))]
    public void Matrix(int cs, int rb, string compat)
    {
        string options = string.Create(CultureInfo.InvariantCulture, $"cluster_size={cs},refcount_bits={rb},compat={compat}");
        var (commands, expected) = Workload(cs);

        var ours = Qimg(null, "create", "-f", "qcow2", "-o", options, "m.qcow2", "64M");
        var theirs = Qemu("qemu-img", null, "create", "-f", "qcow2", "-o", options, "q.qcow2", "64M");
        Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());
        Assert.That(theirs.ExitCode, Is.EqualTo(0), theirs.ToString());
        Assert.That(ours.Out.Replace("m.qcow2", "q.qcow2", StringComparison.Ordinal), Is.EqualTo(theirs.Out));
        AssertSameBytes("q.qcow2", "m.qcow2", "after create");

        var qio = Qio(null, WithC(commands, "m.qcow2"));
        var qemuIo = Qemu("qemu-io", null, WithC(commands, "q.qcow2"));
        Assert.That(qio.ExitCode, Is.EqualTo(0), qio.ToString());
        Assert.That(qemuIo.ExitCode, Is.EqualTo(0), qemuIo.ToString());
        Assert.That(Normalize(qio.Out), Is.EqualTo(Normalize(qemuIo.Out)), "qio's report lines");
        Assert.That(qio.Err, Is.EqualTo(qemuIo.Err), "qio's error lines");

        AssertCheckClean("m.qcow2", options);
        var reads = expected.Select(r => $"read -q -P {r.Pattern} {r.Offset} {r.Length}");
        var verify = Qemu("qemu-io", null, ["-r", .. WithC(reads, "m.qcow2")]);
        Assert.That(verify.ExitCode, Is.EqualTo(0), $"qemu-io read -P on qio's image ({options})\n{verify}");
        Assert.That(verify.Out + verify.Err, Is.Empty, $"qemu-io read -P on qio's image ({options})");

        AssertSameBytes("q.qcow2", "m.qcow2", "after the writes");
        Assert.That(new FileInfo(PathOf("m.qcow2")).Length, Is.LessThanOrEqualTo(ImageSize * 2));
    }

    /// <summary>Every cluster size × compat level, named as the test that takes them.</summary>
    private static IEnumerable<TestCaseData> CompressedCases(string test) =>
        from cs in ClusterSizes
        from c in Compats
        select new TestCaseData(cs, c).SetName($"{test}({cs}, compat={c})");

    /// <summary>
    /// Compressed writes (whole clusters, the last one of the image partial), then a partial overwrite of one of them
    /// (copy-on-write from a compressed cluster) and a write -c onto an allocated cluster, which QEMU fails with EIO.
    /// </summary>
    [TestCaseSource(nameof(CompressedCases), new object[] { "Compressed_clusters_written_by_qio_pass_qemu" })]
    public void Compressed(int cs, string compat) => RunCompressed(cs, compat, compareBytes: false);

    /// <summary>
    /// The same workload compared byte for byte. The engine deflates through the host's zlib as QEMU does (default level,
    /// raw stream with a 2^12 window), so compressed clusters are identical; multi-cluster compressed writes are issued one
    /// cluster at a time, because qemu-io compresses the clusters of one request in parallel and places them in the order
    /// its threads finish, which is not deterministic.
    /// </summary>
    [TestCaseSource(nameof(CompressedCases), new object[] { "Compressed_clusters_are_byte_identical_to_qemu" })]
    public void Compressed_bytes(int cs, string compat) => RunCompressed(cs, compat, compareBytes: true);

    /// <summary>The command itself, or (for a byte-for-byte comparison) one compressed write per cluster of its range.</summary>
    private static IEnumerable<string> OneRequestPerCluster(string command, long offset, long length, int cs, bool split)
    {
        if (!split)
        {
            return [command];
        }
        string pattern = command.Split(' ')[3];
        return Enumerable.Range(0, (int)(length / cs)).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"write -c -P {pattern} {offset + (long)i * cs} {cs}"));
    }

    private void RunCompressed(int cs, string compat, bool compareBytes)
    {
        string options = string.Create(CultureInfo.InvariantCulture, $"cluster_size={cs},compat={compat}");
        // The compressed tail that ends the image: 2 MiB, or (one request per cluster) at most MaxTailRequests clusters,
        // still several L2 tables and host clusters packed with compressed clusters at 512-byte clusters, where 2 MiB was
        // 4096 qemu-io commands.
        long tail = compareBytes ? Math.Min(2L << 20, (long)MaxTailRequests * cs) : 2L << 20;
        long tailAt = ImageSize - tail;
        string[] commands =
        [
            .. OneRequestPerCluster($"write -c -P 0x55 0 {3 * cs}", 0, 3 * cs, cs, compareBytes),
            $"write -c -P 0x66 {8 * cs} {cs}",
            $"write -P 0x77 {cs + 100} 200",
            $"write -c -P 0x11 {8 * cs} {cs}",
            .. OneRequestPerCluster(Inv($"write -c -P 0x99 {tailAt} {tail}"), tailAt, tail, cs, compareBytes),
        ];
        string[] reads =
        [
            $"read -q -P 0x55 0 {cs + 100}",
            $"read -q -P 0x77 {cs + 100} 200",
            $"read -q -P 0x55 {cs + 300} {2 * cs - 300}",
            $"read -q -P 0x66 {8 * cs} {cs}",
            Inv($"read -q -P 0x99 {tailAt} {tail}"),
        ];
        Assert.That(Qimg(null, "create", "-q", "-f", "qcow2", "-o", options, "m.qcow2", "64M").ExitCode, Is.EqualTo(0));
        Must("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, "q.qcow2", "64M");
        var qio = Qio(null, WithC(commands, "m.qcow2"));
        var qemuIo = Qemu("qemu-io", null, WithC(commands, "q.qcow2"));
        Assert.That(qio.ExitCode, Is.EqualTo(qemuIo.ExitCode), qio.ToString());
        Assert.That(Normalize(qio.Out), Is.EqualTo(Normalize(qemuIo.Out)), "qio's report lines");
        Assert.That(qio.Err, Is.EqualTo(qemuIo.Err), "qio's error lines");
        AssertCheckClean("m.qcow2", options);
        var verify = Qemu("qemu-io", null, ["-r", .. WithC(reads, "m.qcow2")]);
        Assert.That(verify.Out + verify.Err, Is.Empty, $"qemu-io read -P on qio's image ({options})");
        Assert.That(verify.ExitCode, Is.EqualTo(0), verify.ToString());
        AssertSameGuest("q.qcow2", "m.qcow2", options);
        if (compareBytes)
        {
            AssertSameBytes("q.qcow2", "m.qcow2", "after the compressed writes (deflate output differs from system zlib's?)");
        }
        else
        {
            Assert.That(Qemu("qemu-img", null, "map", "--output=json", "m.qcow2").Out,
                Is.EqualTo(Qemu("qemu-img", null, "map", "--output=json", "q.qcow2").Out), "layout");
        }
    }

    [TestCaseSource(nameof(Refused))]
    public void Refused_combinations(int cs, int rb)
    {
        string options = string.Create(CultureInfo.InvariantCulture, $"cluster_size={cs},refcount_bits={rb},compat=0.10");
        var theirs = Qemu("qemu-img", null, "create", "-f", "qcow2", "-o", options, "x.qcow2", "64M");
        bool theirsExists = File.Exists(PathOf("x.qcow2"));
        File.Delete(PathOf("x.qcow2"));
        var ours = Qimg(null, "create", "-f", "qcow2", "-o", options, "x.qcow2", "64M");
        Assert.That(theirs.ExitCode, Is.Not.EqualTo(0), "qemu-img accepted " + options);
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), ours.ToString());
        Assert.That(ours.Out, Is.EqualTo(theirs.Out));
        Assert.That(ours.Err, Is.EqualTo(Normalize(theirs.Err)));
        Assert.That(File.Exists(PathOf("x.qcow2")), Is.EqualTo(theirsExists), "whether a file is left behind");
    }

    private void AssertSameBytes(string expectedName, string actualName, string when)
    {
        long at = FileBytes.FirstDifference(PathOf(expectedName), PathOf(actualName));
        Assert.That(at, Is.EqualTo(-1), $"{when}: our image differs from QEMU's at byte 0x{at:x}"
            + $" (sizes {new FileInfo(PathOf(actualName)).Length} vs {new FileInfo(PathOf(expectedName)).Length})");
    }
}
