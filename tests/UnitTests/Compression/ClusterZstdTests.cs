using Qcow2.Compression;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Compression;

/// <summary>zstd clusters (issue 14 item 4): what we compress reads back and is the frame libzstd makes, damaged data is
/// an error, the reader follows qcow2_zstd_decompress, and the managed fallback writes frames the same reader accepts.</summary>
[TestFixture]
public class ClusterZstdTests
{
    private static byte[] Pattern(int size, int seed)
    {
        var b = new byte[size];
        var r = new Random(seed);
        for (int i = 0; i < size; i += 64)
        {
            b[i] = (byte)r.Next(4);
        }
        return b;
    }

    [TestCase(512)]
    [TestCase(65536)]
    [TestCase(2 << 20)]
    public void A_compressed_cluster_reads_back(int clusterSize)
    {
        byte[] cluster = Pattern(clusterSize, clusterSize);
        byte[]? packed = ClusterZstd.Compress(cluster);
        Assert.That(packed, Is.Not.Null);
        Assert.That(packed!.Length, Is.LessThan(clusterSize));
        // Stored clusters run on to the end of their last sector: the reader must stop at the frame's end.
        byte[] stored = [.. packed, .. new byte[511]];
        var back = new byte[clusterSize];
        Assert.That(ClusterZstd.Decompress(stored, back), Is.True);
        Assert.That(back, Is.EqualTo(cluster));
    }

    [Test]
    public void An_incompressible_cluster_is_not_compressed()
    {
        var cluster = new byte[65536];
        new Random(3).NextBytes(cluster);
        Assert.That(ClusterZstd.Compress(cluster), Is.Null);
    }

    [Test]
    public void Damaged_or_short_data_is_an_error_not_an_exception()
    {
        byte[] cluster = Pattern(65536, 9);
        byte[] packed = ClusterZstd.Compress(cluster)!;
        var back = new byte[65536];
        byte[] damaged = (byte[])packed.Clone();
        damaged[0] ^= 0xff; // the frame's magic number
        Assert.Multiple(() =>
        {
            Assert.That(ClusterZstd.Decompress(damaged, back), Is.False, "bad magic");
            Assert.That(ClusterZstd.Decompress(packed[..(packed.Length / 2)], back), Is.False, "truncated frame");
            Assert.That(ClusterZstd.Decompress(new byte[16], back), Is.False, "zeros");
            Assert.That(ClusterZstd.Decompress(ClusterZstd.Compress(Pattern(4096, 1))!, back), Is.False, "a frame of fewer bytes than the cluster");
        });
    }

    [Test]
    public void The_managed_fallback_writes_frames_the_reader_accepts()
    {
        byte[] cluster = Pattern(65536, 21);
        byte[]? packed = ClusterZstd.CompressManaged(cluster, cluster.Length - 1);
        Assert.That(packed, Is.Not.Null);
        var back = new byte[65536];
        Assert.That(ClusterZstd.Decompress([.. packed!, .. new byte[100]], back), Is.True);
        Assert.That(back, Is.EqualTo(cluster));
    }

    [Test]
    public void More_data_than_a_cluster_is_an_error()
    {
        // qcow2_zstd_decompress fails when the cluster is full before the frame ends.
        byte[] twoClusters = Pattern(8192, 4);
        byte[] packed = ClusterZstd.Compress(twoClusters)!;
        Assert.That(ClusterZstd.Decompress(packed, new byte[4096]), Is.False);
    }

    [Test]
    public void A_cluster_made_of_two_frames_reads_back()
    {
        // ZSTD_decompressStream goes on into the next frame while the cluster is not full, so QEMU accepts this.
        byte[] cluster = Pattern(8192, 6);
        byte[] first = ClusterZstd.Compress(cluster[..4096])!;
        byte[] second = ClusterZstd.Compress(cluster[4096..])!;
        var back = new byte[8192];
        Assert.That(ClusterZstd.Decompress([.. first, .. second, .. new byte[300]], back), Is.True);
        Assert.That(back, Is.EqualTo(cluster));
    }

    [Test]
    public void A_frame_without_a_content_size_and_a_window_larger_than_the_cluster_reads_back()
    {
        // A streamed frame declares its level's window (2 MiB at level 3), not the cluster's size: decoding into the
        // cluster itself needs no window buffer, and QEMU reads such a frame too.
        byte[] cluster = Pattern(4096, 8);
        using var ms = new MemoryStream();
        using (var z = new ZstdSharp.CompressionStream(ms))
        {
            z.Write(cluster);
        }
        var back = new byte[4096];
        Assert.That(ClusterZstd.Decompress(ms.ToArray(), back), Is.True);
        Assert.That(back, Is.EqualTo(cluster));
    }

    [TestCase(4096)]
    [TestCase(65536)]
    public void The_frame_is_the_one_the_zstd_tool_makes_of_the_cluster(int clusterSize)
    {
        // The zstd tool compresses a file as QEMU does a cluster (one frame, default level, content size, no checksum
        // with --no-check): an independent maker of the bytes QEMU writes.
        if (!ClusterZstd.UsesHostZstd)
        {
            Assert.Ignore("no host libzstd: the managed fallback's frames are valid but need not be libzstd's");
        }
        if (!ToolProcess.Available("zstd"))
        {
            Assert.Ignore("the zstd tool is not installed (the interop tests compare with QEMU's clusters instead)");
        }
        using var dir = new TempDir("zstd");
        byte[] cluster = Pattern(clusterSize, clusterSize + 1);
        File.WriteAllBytes(dir.PathOf("cluster"), cluster);
        var r = ToolProcess.Must("zstd", dir.Path, "-q", "--no-check", "-o", "cluster.zst", "cluster");
        Assert.That(ClusterZstd.Compress(cluster), Is.EqualTo(File.ReadAllBytes(dir.PathOf("cluster.zst"))), r.ToString());
    }
}
