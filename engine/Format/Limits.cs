// The engine's Qcow2Image code names these limits unqualified (MaxL1SizeBytes, MaxSnapshots ...), as it did when
// they were Qcow2Image members; one global using keeps those call sites unchanged.
global using static Qcow2.Format.Limits;

namespace Qcow2.Format;

/// <summary>
/// The limits of the qcow2 format as QEMU 7.2 enforces them, declared once for the engine, qimg and mkimage.
/// Each says why it exists and gives QEMU's name (block/qcow2.h).
/// </summary>
public static class Limits
{
    /// <summary>MIN_CLUSTER_BITS: a cluster is at least one 512-byte sector (the spec requires cluster_bits &gt;= 9).</summary>
    public const int MinClusterBits = 9;

    /// <summary>
    /// MAX_CLUSTER_BITS: at most 2 MiB, so that a compressed cluster descriptor's offset and sector-count fields
    /// (which split 62 bits by cluster_bits) still fit, and so that tables stay allocatable.
    /// </summary>
    public const int MaxClusterBits = 21;

    /// <summary>The smallest cluster in bytes (2^MinClusterBits).</summary>
    public const int MinClusterSize = 1 << MinClusterBits;

    /// <summary>The largest cluster in bytes (2^MaxClusterBits).</summary>
    public const int MaxClusterSize = 1 << MaxClusterBits;

    /// <summary>Extended L2 entries split a cluster into 32 subclusters, each at least 512 bytes.</summary>
    public const int MinClusterSizeExtendedL2 = MinClusterSize * 32;

    /// <summary>refcount_bits = 1 &lt;&lt; refcount_order is at most 64: a refcount is at most a u64.</summary>
    public const int MaxRefcountOrder = 6;

    /// <summary>QCOW_MAX_L1_SIZE: the active L1 may not exceed 32 MiB, so that loading it cannot exhaust memory.</summary>
    public const long MaxL1SizeBytes = 32L << 20;

    /// <summary>The most L1 entries an image may have (QCOW_MAX_L1_SIZE over the 8-byte entry).</summary>
    public const long MaxL1Entries = MaxL1SizeBytes / L1Entry.Size;

    /// <summary>QCOW_MAX_REFTABLE_SIZE: the refcount table may not exceed 8 MiB, so that loading it cannot exhaust memory.</summary>
    public const long MaxRefcountTableBytes = 8L << 20;

    /// <summary>The longest backing file name QEMU reads (1023 bytes: its buffer is 1024 with the NUL).</summary>
    public const int MaxBackingFileNameLength = 1023;

    /// <summary>QCOW_MAX_CLUSTER_OFFSET: host offsets must fit the 56 offset bits of L1/L2 entries.</summary>
    public const long MaxClusterOffset = (1L << 56) - 1;

    /// <summary>QCOW_MAX_SNAPSHOTS: at most 65536 snapshots, which bounds the snapshot table's size and load time.</summary>
    public const int MaxSnapshots = 65536;

    /// <summary>QCOW_MAX_SNAPSHOTS_SIZE: the snapshot table may not exceed 64 MiB (1 KiB per snapshot).</summary>
    public const long MaxSnapshotsSize = 1024L * MaxSnapshots;
}
