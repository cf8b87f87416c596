using System.Security.Cryptography;
using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>
/// The scan behind the sidecars and the verdicts: the SHA-256 of each extent and of the whole disk are those of the
/// bytes read, in whatever whole sectors they arrive, whether a zero extent holds zeros (hashed from a memo by its
/// length) or not.
/// </summary>
[TestFixture]
public sealed class ContentScanTests
{
    private static readonly (long Start, long Length, bool Data, bool Zero)[] Extents =
        [(0, 1024, true, false), (1024, 3 << 20, false, true), ((3 << 20) + 1024, 512, true, false)];

    private static byte[] Disk(long nonZeroAt)
    {
        var disk = new byte[(3 << 20) + 1536];
        Random.Shared.NextBytes(disk.AsSpan(0, 1024));
        Random.Shared.NextBytes(disk.AsSpan((3 << 20) + 1024));
        if (nonZeroAt >= 0)
        {
            disk[nonZeroAt] = 0x5a;
        }
        return disk;
    }

    private static string Sha(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [TestCase(-1, 4096)]
    [TestCase(-1, 1536)]
    [TestCase(1024, 4096)]
    [TestCase(2_000_000, 1536)]
    [TestCase((3 << 20) + 1023, 65536)]
    public void Hashes_are_those_of_the_bytes_read(long nonZeroAt, int chunk)
    {
        byte[] disk = Disk(nonZeroAt);
        var scan = new ContentScan(Extents);
        for (int off = 0; off < disk.Length; off += chunk)
        {
            scan.Feed(disk.AsSpan(off, Math.Min(chunk, disk.Length - off)));
        }

        Assert.That(scan.Sha256(), Is.EqualTo(Sha(disk)));
        Assert.That(scan.ExtentSha256, Is.EqualTo(Extents.Select(e => Sha(disk.AsSpan((int)e.Start, (int)e.Length))).ToArray()));
        Assert.That(scan.NonZeroInZeroExtents.Select(s => s.Offset), Is.EqualTo(nonZeroAt < 0 ? Array.Empty<long>() : [nonZeroAt / 512 * 512]));
    }

    [TestCase(-1, ContentScan.AllZeros)]
    [TestCase(123_456, ContentScan.NotZeros)]
    public void Without_hashing_zeros_a_zero_extent_says_whether_it_read_as_zeros(long nonZeroAt, string expected)
    {
        byte[] disk = Disk(nonZeroAt);
        var scan = new ContentScan(Extents, hashZeros: false);
        scan.Feed(disk);

        Assert.That(scan.ExtentSha256, Is.EqualTo(new[] { Sha(disk.AsSpan(0, 1024)), expected, Sha(disk.AsSpan((3 << 20) + 1024)) }));
    }
}
