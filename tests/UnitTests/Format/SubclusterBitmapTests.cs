using NUnit.Framework;
using Qcow2.Format;

namespace Qcow2.UnitTests.Format;

/// <summary>qcow2_get_subcluster_type over an extended L2 entry: the cluster type plus the subcluster's two bits.</summary>
[TestFixture]
public class SubclusterBitmapTests
{
    private const ulong Normal = 0x8000000000050000;
    private const ulong Compressed = 0x4000000000060000;

    [TestCase(Normal, 0x1UL, 0, SubclusterType.Normal)]
    [TestCase(Normal, 0x1UL, 1, SubclusterType.UnallocatedAlloc)]
    [TestCase(Normal, 0x0000000200000001UL, 1, SubclusterType.ZeroAlloc)]
    [TestCase(Normal, 0x0000000100000001UL, 5, SubclusterType.Invalid)]
    [TestCase(0UL, 0x0UL, 0, SubclusterType.UnallocatedPlain)]
    [TestCase(0UL, 0xffffffff00000000UL, 31, SubclusterType.ZeroPlain)]
    [TestCase(0UL, 0x4UL, 0, SubclusterType.Invalid)]
    [TestCase(Compressed, 0x0UL, 3, SubclusterType.Compressed)]
    public void Type_follows_qemu(ulong entry, ulong bitmap, int index, SubclusterType expected) =>
        Assert.That(SubclusterBitmap.TypeOf(SubclusterBitmap.ClusterTypeOf(entry), bitmap, index), Is.EqualTo(expected));

    [Test]
    public void Zero_flag_is_ignored_with_extended_entries() =>
        Assert.That(SubclusterBitmap.ClusterTypeOf(L2Entry.Zero), Is.EqualTo(ClusterType.Unallocated));

    [Test]
    public void Offset_0_with_copied_is_a_data_cluster_only_with_a_data_file()
    {
        const ulong copiedAtZero = 0x8000000000000000;
        Assert.That(SubclusterBitmap.ClusterTypeOf(copiedAtZero, hasDataFile: true), Is.EqualTo(ClusterType.Normal));
        Assert.That(SubclusterBitmap.ClusterTypeOf(copiedAtZero | L2Entry.Zero, hasDataFile: true), Is.EqualTo(ClusterType.Normal));
        Assert.That(SubclusterBitmap.ClusterTypeOf(copiedAtZero), Is.EqualTo(ClusterType.Unallocated));
        Assert.That(SubclusterBitmap.ClusterTypeOf(0, hasDataFile: true), Is.EqualTo(ClusterType.Unallocated));
        // Guest cluster 0 of a data file image, subclusters 0-3 written: valid, not "allocated without an offset".
        Assert.That(SubclusterBitmap.TypeOf(SubclusterBitmap.ClusterTypeOf(copiedAtZero, true), 0xfUL, 1), Is.EqualTo(SubclusterType.Normal));
    }

    [TestCase(0, 32, 0xffffffffUL)]
    [TestCase(3, 2, 0x18UL)]
    [TestCase(31, 1, 0x80000000UL)]
    [TestCase(5, 0, 0UL)]
    public void Ranges_cover_count_bits_from_first(int first, int count, ulong expected)
    {
        Assert.That(SubclusterBitmap.AllocRange(first, count), Is.EqualTo(expected));
        Assert.That(SubclusterBitmap.ZeroRange(first, count), Is.EqualTo(expected << 32));
    }
}
