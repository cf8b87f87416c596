using Qcow2.Compression;

namespace Qcow2.UnitTests.Compression;

/// <summary>zstd clusters (issue 14 item 4): what we compress reads back, damaged data is an error, and the managed
/// fallback writes frames the same reader accepts.</summary>
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
}
