namespace Qcow2.Format;

/// <summary>An active or snapshot L1 table entry: the offset of an L2 table plus the COPIED flag.</summary>
public readonly record struct L1Entry(ulong Raw)
{
    /// <summary>Bits 9..55: the L2 table offset (cluster-aligned when valid).</summary>
    public const ulong OffsetMask = 0x00fffffffffffe00;
    /// <summary>Bits 0..8 and 56..62 must be zero.</summary>
    public const ulong ReservedMask = 0x7f000000000001ff;
    /// <summary>Bit 63: the L2 table's refcount is exactly 1, so it may be written in place.</summary>
    public const ulong Copied = 1UL << 63;
    /// <summary>Bytes per entry.</summary>
    public const int Size = 8;

    /// <summary>The L2 table offset, 0 when unallocated.</summary>
    public long L2Offset => (long)(Raw & OffsetMask);

    /// <summary>Whether COPIED is set.</summary>
    public bool IsCopied => (Raw & Copied) != 0;
}
