using Qcow2.Format;

namespace Qcow2.Tools.Mkimage;

/// <summary>
/// Structure math mkimage needs to locate tables and entries. Limits, masks, sizes and field offsets are the
/// engine's (engine/Format: <see cref="Limits"/>, the entry types, <see cref="SnapshotEntry"/>).
/// </summary>
internal static class Layout
{
    /// <summary>QEMU's smallest cluster: 512 bytes.</summary>
    public const int MinClusterBits = Limits.MinClusterBits;

    /// <summary>QEMU's largest cluster: 2 MiB.</summary>
    public const int MaxClusterBits = Limits.MaxClusterBits;

    /// <summary>refcount_bits = 1 &lt;&lt; refcount_order may not exceed 64.</summary>
    public const int MaxRefcountOrder = Limits.MaxRefcountOrder;

    /// <summary>L1 entry bits 9-55: the L2 table offset.</summary>
    public const ulong L1OffsetMask = L1Entry.OffsetMask;

    /// <summary>Reftable entry bits 9-63: the refcount block offset (bits 0-8 are reserved).</summary>
    public const ulong RefTableOffsetMask = RefcountTableEntry.OffsetMask;

    /// <summary>Every L1, L2 (standard) and reftable entry is a u64.</summary>
    public const int TableEntrySize = L1Entry.Size;

    /// <summary>A standard L2 entry.</summary>
    public const int L2EntrySize = L2Entry.Size;

    /// <summary>With extended L2 entries (incompatible bit 4) an L2 entry is the u64 descriptor plus a u64 subcluster bitmap.</summary>
    public const int ExtendedL2EntrySize = 2 * L2Entry.Size;

    /// <summary>The fixed part of a snapshot table entry, before the extra data, id string and name.</summary>
    public const int SnapshotFixedSize = SnapshotEntry.FixedSize;

    /// <summary>Snapshot entry fields: offset within the entry and size (extra-data fields follow the fixed part).</summary>
    public static readonly FieldSpec[] SnapshotFields =
    [
        new("l1_table_offset", SnapshotEntry.L1TableOffsetOffset, 8, FieldDisplay.Hex),
        new("l1_size", SnapshotEntry.L1SizeOffset, 4),
        new("id_str_size", SnapshotEntry.IdStrSizeOffset, 2),
        new("name_size", SnapshotEntry.NameSizeOffset, 2),
        new("date_sec", SnapshotEntry.DateSecOffset, 4),
        new("date_nsec", SnapshotEntry.DateNsecOffset, 4),
        new("vm_clock_nsec", SnapshotEntry.VmClockNsecOffset, 8),
        new("vm_state_size", SnapshotEntry.VmStateSizeOffset, 4),
        new("extra_data_size", SnapshotEntry.ExtraDataSizeOffset, 4),
        new("vm_state_size_large", SnapshotEntry.VmStateSizeLargeOffset, 8),
        new("disk_size", SnapshotEntry.DiskSizeOffset, 8),
        new("icount", SnapshotEntry.IcountOffset, 8),
    ];

    /// <summary>Rounds up to a multiple of 8, the padding of snapshot entries and header extensions.</summary>
    public static long Align8(long v) => (v + 7) & ~7L;
}
