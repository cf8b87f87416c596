using Qcow2.Format;

namespace Qcow2;

/// <summary>The image's side of its refcount structures (<see cref="Refcounts"/>): the calls it makes, and what it tells them.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>Bits 9..63 of a refcount table entry: the refcount block offset.</summary>
    private const ulong RefcountTableEntryOffsetMask = RefcountTableEntry.OffsetMask;

    /// <summary>The refcount table, its block cache and the cluster allocator (QEMU's qcow2-refcount.c).</summary>
    private Refcounts _refcounts = null!;

    /// <summary>The refcount of a cluster (0 when its block is not allocated).</summary>
    private ulong GetRefcount(long clusterIndex) => _refcounts.Get(clusterIndex);

    /// <summary>Adds or subtracts addend from the refcounts of every cluster in [offset, offset+length) (update_refcount).</summary>
    private void UpdateRefcount(long offset, long length, ulong addend, bool decrease, DiscardType type) =>
        _refcounts.Update(offset, length, addend, decrease, type);

    /// <summary>Allocates size bytes of contiguous clusters (qcow2_alloc_clusters).</summary>
    private long AllocClusters(long size) => _refcounts.Alloc(size);

    /// <summary>Allocates up to nbClusters free clusters starting exactly at offset; returns how many (qcow2_alloc_clusters_at).</summary>
    private long AllocClustersAt(long offset, long nbClusters) => _refcounts.AllocAt(offset, nbClusters);

    /// <summary>Allocates size bytes for compressed data, packing them after the previous compressed cluster (qcow2_alloc_bytes).</summary>
    private long AllocBytes(int size) => _refcounts.AllocBytes(size);

    /// <summary>Decrements the refcounts of a range (qcow2_free_clusters); failures are reported, not thrown.</summary>
    private void FreeClusters(long offset, long size, DiscardType type) => _refcounts.Free(offset, size, type);

    /// <summary>Creates self-describing refcount structures at startOffset and switches to them (qcow2_refcount_area).</summary>
    private long RefcountArea(long startOffset, long additionalClusters, bool exactSize, int newRefblockIndex, long newRefblockOffset) =>
        _refcounts.CreateArea(startOffset, additionalClusters, exactSize, newRefblockIndex, newRefblockOffset);

    /// <summary>Runs work with s->cache_discards set: the clusters it frees are discarded together at its end.</summary>
    private void WithCachedDiscards(Action work) => _refcounts.WithCachedDiscards(work);

    /// <summary>Frees whatever an L2 entry owns (qcow2_free_any_cluster).</summary>
    private void FreeAnyCluster(ulong l2Entry, DiscardType type)
    {
        var e = new L2Entry(l2Entry);
        switch (TypeOf(l2Entry))
        {
            case ClusterType.Compressed:
                FreeClusters(e.CompressedOffset(_clusterBits), e.CompressedSize(_clusterBits), type);
                break;
            case ClusterType.Normal or ClusterType.ZeroAlloc when HasDataFile:
                DiscardDataCluster(e.HostOffset, type);
                break;
            case ClusterType.Normal:
            case ClusterType.ZeroAlloc:
                if (OffsetIntoCluster(e.HostOffset) != 0)
                {
                    SignalCorruption(false, -1, -1, $"Cannot free unaligned cluster {Hex(e.HostOffset)}");
                }
                else
                {
                    FreeClusters(e.HostOffset, _clusterSize, type);
                }
                break;
        }
    }

    /// <summary>C's %#x / %#llx: "0x" and lower-case hex, or "0" for zero.</summary>
    internal static string Hex(long v) => v == 0 ? "0" : "0x" + v.ToString("x");

    internal static long RoundUp(long v, long align) => (v + align - 1) / align * align;

    internal static long DivRoundUp(long a, long b) => (a + b - 1) / b;
}
