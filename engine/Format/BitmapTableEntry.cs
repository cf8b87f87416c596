namespace Qcow2.Format;

/// <summary>One bitmap table entry: the offset of a cluster of serialized bitmap data, or a flag for an unallocated one.</summary>
public readonly struct BitmapTableEntry
{
    /// <summary>Bytes of one entry.</summary>
    public const int Size = 8;
    /// <summary>Bits 1..8 and 56..63 are reserved and must be zero.</summary>
    public const ulong ReservedMask = 0xff000000000001fe;
    /// <summary>Bits 9..55: the host offset of the data cluster (0: not allocated).</summary>
    public const ulong OffsetMask = 0x00fffffffffffe00;
    /// <summary>Bit 0: with offset 0, the whole cluster of bits reads as ones (otherwise reserved).</summary>
    public const ulong AllOnesFlag = 1;

    /// <summary>Wraps a raw entry.</summary>
    public BitmapTableEntry(ulong raw) => Raw = raw;

    /// <summary>The raw 64-bit value.</summary>
    public ulong Raw { get; }

    /// <summary>The data cluster offset, or 0.</summary>
    public long Offset => (long)(Raw & OffsetMask);

    /// <summary>Whether an unallocated entry stands for all ones.</summary>
    public bool AllOnes => (Raw & AllOnesFlag) != 0;

    /// <summary>check_table_entry: no reserved bits, and an allocated entry is cluster aligned without the all-ones flag.</summary>
    public bool IsValid(int clusterSize)
    {
        if ((Raw & ReservedMask) != 0)
        {
            return false;
        }
        return Offset == 0 || (!AllOnes && Offset % clusterSize == 0);
    }
}
