namespace Qcow2.Format;

/// <summary>A refcount table entry: the offset of a refcount block (0: not allocated).</summary>
public static class RefcountTableEntry
{
    /// <summary>Bits 9..63: the refcount block offset (bits 0..8 are reserved; blocks are cluster-aligned).</summary>
    public const ulong OffsetMask = 0xfffffffffffffe00;

    /// <summary>Bytes per entry.</summary>
    public const int Size = 8;
}
