namespace Qcow2.Format;

/// <summary>How QEMU classifies an L2 entry (qcow2_get_cluster_type), checked in this order.</summary>
public enum ClusterType
{
    /// <summary>Reads from the backing file, or zeros.</summary>
    Unallocated,
    /// <summary>Zero flag without an offset.</summary>
    ZeroPlain,
    /// <summary>Zero flag with a preallocated host cluster.</summary>
    ZeroAlloc,
    /// <summary>Data at a host cluster.</summary>
    Normal,
    /// <summary>Compressed data at a host byte offset.</summary>
    Compressed,
}

/// <summary>A standard (64-bit) L2 table entry.</summary>
public readonly record struct L2Entry(ulong Raw)
{
    /// <summary>Bits 9..55: host cluster offset of a standard cluster.</summary>
    public const ulong OffsetMask = 0x00fffffffffffe00;
    /// <summary>Bits 1..8 and 56..61 of a standard cluster must be zero.</summary>
    public const ulong StdReservedMask = 0x3f000000000001fe;
    /// <summary>Bit 0: the cluster reads as zeros (version 3).</summary>
    public const ulong Zero = 1UL << 0;
    /// <summary>Bit 62: the cluster is compressed.</summary>
    public const ulong Compressed = 1UL << 62;
    /// <summary>Bit 63: refcount is exactly 1 (never set for compressed clusters).</summary>
    public const ulong Copied = 1UL << 63;
    /// <summary>Bytes per entry.</summary>
    public const int Size = 8;
    /// <summary>Bytes per extended entry: the standard entry, then the 64-bit subcluster bitmap.</summary>
    public const int ExtendedSize = 16;

    /// <summary>Bytes per L2 entry of an image with this header (l2_entry_size).</summary>
    public static int EntrySize(Header header) => (header.IncompatibleFeatures & Features.IncompatExtendedL2) != 0 ? ExtendedSize : Size;

    /// <summary>The host cluster offset of a standard entry.</summary>
    public long HostOffset => (long)(Raw & OffsetMask);

    /// <summary>Whether COPIED is set.</summary>
    public bool IsCopied => (Raw & Copied) != 0;

    /// <summary>The entry's type.</summary>
    public ClusterType Type
    {
        get
        {
            if ((Raw & Compressed) != 0)
            {
                return ClusterType.Compressed;
            }
            if ((Raw & Zero) != 0)
            {
                return HostOffset != 0 ? ClusterType.ZeroAlloc : ClusterType.ZeroPlain;
            }
            return HostOffset == 0 ? ClusterType.Unallocated : ClusterType.Normal;
        }
    }

    /// <summary>
    /// The entry's type in an image with an external data file (qcow2_get_cluster_type): offset 0 is a valid data
    /// offset there, and COPIED (every data cluster counts as referenced once) tells it from an unallocated entry.
    /// </summary>
    public ClusterType TypeWithDataFile =>
        (Raw & (Compressed | Zero)) == 0 && HostOffset == 0 && IsCopied ? ClusterType.Normal : Type;

    /// <summary>Whether the type owns a host cluster or bytes (normal, zero-alloc, compressed).</summary>
    public static bool IsAllocated(ClusterType t) => t is ClusterType.Normal or ClusterType.ZeroAlloc or ClusterType.Compressed;

    /// <summary>Host byte offset of a compressed cluster's data.</summary>
    public long CompressedOffset(int clusterBits) => (long)(Raw & ((1UL << CompressedShift(clusterBits)) - 1));

    /// <summary>Bytes occupied by a compressed cluster: (additional sectors + 1) × 512 minus the offset into the first sector.</summary>
    public int CompressedSize(int clusterBits)
    {
        int shift = CompressedShift(clusterBits);
        ulong sectorsMask = (1UL << (clusterBits - 8)) - 1;
        long nbSectors = (long)((Raw >> shift) & sectorsMask) + 1;
        return (int)(nbSectors * 512 - (CompressedOffset(clusterBits) & 511));
    }

    /// <summary>Bit where the sector count of a compressed descriptor starts: 62 − (cluster_bits − 8).</summary>
    public static int CompressedShift(int clusterBits) => 62 - (clusterBits - 8);

    /// <summary>Builds a compressed descriptor for data at hostOffset, size bytes long.</summary>
    public static L2Entry MakeCompressed(long hostOffset, int size, int clusterBits)
    {
        long nbCsectors = ((hostOffset + size - 1) >> 9) - (hostOffset >> 9);
        return new L2Entry(Compressed | ((ulong)nbCsectors << CompressedShift(clusterBits)) | (ulong)hostOffset);
    }
}
