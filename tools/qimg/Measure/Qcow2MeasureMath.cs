using Qcow2.Format;

namespace Qcow2.Tools.Qimg;

/// <summary>The size formulas qemu's qcow2 driver uses to measure an image it would create (qcow2_calc_prealloc_size and friends).</summary>
public static class Qcow2MeasureMath
{
    /// <summary>Bytes of one L1 or refcount table entry.</summary>
    private const long TableEntrySize = 8;

    /// <summary>Bytes of the fixed part of a bitmap directory entry, before its name.</summary>
    private const long BitmapDirEntryHeaderSize = 24;

    /// <summary>x rounded up to a multiple of n.</summary>
    public static long RoundUp(long x, long n) => (x + n - 1) / n * n;

    /// <summary>x divided by n, rounded up.</summary>
    public static long DivRoundUp(long x, long n) => (x + n - 1) / n;

    /// <summary>
    /// The size of a fully allocated image: one header cluster, every L2 and L1 entry, the refcount structures
    /// covering all of that plus the data, and the data itself.
    /// </summary>
    public static long FullyAllocatedSize(long virtualSize, long clusterSize, int refcountOrder, bool extendedL2)
    {
        long l2EntrySize = extendedL2 ? 16 : 8;
        long alignedSize = RoundUp(virtualSize, clusterSize);
        long meta = clusterSize;
        long l2Entries = RoundUp(alignedSize / clusterSize, clusterSize / l2EntrySize);
        meta += l2Entries * l2EntrySize;
        long l1Entries = RoundUp(l2Entries * l2EntrySize / clusterSize, clusterSize / TableEntrySize);
        meta += l1Entries * TableEntrySize;
        meta += RefcountMetadataSize((meta + alignedSize) / clusterSize, clusterSize, refcountOrder);
        return meta + alignedSize;
    }

    /// <summary>
    /// The bytes of refcount blocks and table needed to count clusters plus themselves: the fixed point reached by
    /// adding blocks and table clusters until one more round adds nothing.
    /// </summary>
    public static long RefcountMetadataSize(long clusters, long clusterSize, int refcountOrder)
    {
        long blocksPerTableCluster = clusterSize / TableEntrySize;
        long refcountsPerBlock = clusterSize * 8 / (1L << refcountOrder);
        long table = 0, blocks = 0, n = 0, last;
        do
        {
            last = n;
            blocks = DivRoundUp(clusters + table + blocks, refcountsPerBlock);
            table = DivRoundUp(blocks, blocksPerTableCluster);
            n = clusters + blocks + table;
        }
        while (n != last);
        return (blocks + table) * clusterSize;
    }

    /// <summary>
    /// The space the source's persistent bitmaps would take in a new image: each bitmap's data clusters and table,
    /// assumed fully allocated, plus the bitmap directory, all rounded to clusters.
    /// </summary>
    public static long BitmapsSize(IEnumerable<BitmapInfo> bitmaps, long diskSize, long clusterSize)
    {
        long total = 0, directory = 0;
        foreach (BitmapInfo b in bitmaps)
        {
            long bits = DivRoundUp(diskSize, b.Granularity);
            long clusters = DivRoundUp(DivRoundUp(bits, 8), clusterSize);
            total += clusters * clusterSize;
            total += RoundUp(clusters * TableEntrySize, clusterSize);
            directory += RoundUp(BitmapDirEntryHeaderSize + System.Text.Encoding.UTF8.GetByteCount(b.Name), 8);
        }
        return total + RoundUp(directory, clusterSize);
    }
}
