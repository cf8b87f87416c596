namespace Qcow2.Format;

/// <summary>How QEMU classifies one subcluster of an extended L2 entry (qcow2_get_subcluster_type).</summary>
public enum SubclusterType
{
    /// <summary>Data at the host cluster.</summary>
    Normal,
    /// <summary>Part of a compressed cluster.</summary>
    Compressed,
    /// <summary>Reads as zero; no host cluster.</summary>
    ZeroPlain,
    /// <summary>Reads as zero; the host cluster exists.</summary>
    ZeroAlloc,
    /// <summary>Reads from the backing file; no host cluster.</summary>
    UnallocatedPlain,
    /// <summary>Reads from the backing file; the host cluster exists.</summary>
    UnallocatedAlloc,
    /// <summary>The entry and its bitmap disagree (both bits set, or a bitmap where none may be).</summary>
    Invalid,
}

/// <summary>The 64-bit subcluster bitmap of an extended L2 entry: bit n "allocated", bit 32+n "reads as zero".</summary>
public static class SubclusterBitmap
{
    /// <summary>Subclusters per cluster.</summary>
    public const int Count = 32;
    /// <summary>Low half: the subcluster has data at the host cluster.</summary>
    public const ulong AllAlloc = 0x00000000ffffffffUL;
    /// <summary>High half: the subcluster reads as zeros.</summary>
    public const ulong AllZeroes = 0xffffffff00000000UL;

    /// <summary>Bits first..first+count-1 of the low half (QCOW_OFLAG_SUB_ALLOC_RANGE).</summary>
    public static ulong AllocRange(int first, int count) => count == 0 ? 0 : ((count == 32 ? AllAlloc : (1UL << count) - 1) << first);

    /// <summary>The same range in the high half (QCOW_OFLAG_SUB_ZERO_RANGE).</summary>
    public static ulong ZeroRange(int first, int count) => AllocRange(first, count) << 32;

    /// <summary>
    /// The type of subcluster index (qcow2_get_subcluster_type); type is the entry's cluster type with the zero flag
    /// ignored, as it is reserved with extended entries. A bitmap that marks a subcluster both allocated and zero, or
    /// an unallocated cluster with allocated subclusters, is invalid wherever the index falls.
    /// </summary>
    public static SubclusterType TypeOf(ClusterType type, ulong bitmap, int index)
    {
        bool alloc = (bitmap & (1UL << index)) != 0, zero = (bitmap & (1UL << (32 + index))) != 0;
        switch (type)
        {
            case ClusterType.Compressed:
                return SubclusterType.Compressed;
            case ClusterType.Normal:
                if (((bitmap >> 32) & bitmap) != 0)
                {
                    return SubclusterType.Invalid;
                }
                return zero ? SubclusterType.ZeroAlloc : alloc ? SubclusterType.Normal : SubclusterType.UnallocatedAlloc;
            default:
                if ((bitmap & AllAlloc) != 0)
                {
                    return SubclusterType.Invalid;
                }
                return zero ? SubclusterType.ZeroPlain : SubclusterType.UnallocatedPlain;
        }
    }

    /// <summary>
    /// The cluster type of an extended entry: its zero flag is reserved and ignored (qcow2_get_cluster_type); with an
    /// external data file, offset 0 with COPIED is a data cluster.
    /// </summary>
    public static ClusterType ClusterTypeOf(ulong entry, bool hasDataFile = false)
    {
        var e = new L2Entry(entry & ~L2Entry.Zero);
        return hasDataFile ? e.TypeWithDataFile : e.Type;
    }
}
