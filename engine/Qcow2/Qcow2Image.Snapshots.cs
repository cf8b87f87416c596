using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>QCOW_MAX_SNAPSHOTS.</summary>
    public const int MaxSnapshots = 65536;
    /// <summary>QCOW_MAX_SNAPSHOTS_SIZE: the snapshot table may not exceed 64 MiB.</summary>
    public const long MaxSnapshotsSize = 1024L * MaxSnapshots;

    private List<SnapshotEntry> _snapshots = new();
    private long _snapshotsOffset;
    private long _snapshotsSize;

    /// <summary>Reads the snapshot table (qcow2_read_snapshots) with QEMU's limits.</summary>
    private void ReadSnapshots()
    {
        _snapshotsOffset = (long)_header.SnapshotsOffset;
        int count = (int)_header.NbSnapshots;
        _snapshots = new List<SnapshotEntry>(Math.Min(count, 1024));
        if (count == 0)
        {
            _snapshotsSize = 0;
            return;
        }
        // Read in growing chunks: the table's size is only known once its entries are parsed.
        long avail = Math.Min(MaxSnapshotsSize + 64 * 1024, Math.Max(0, _file.Length - _snapshotsOffset));
        var table = ReadFile(_snapshotsOffset, (int)Math.Min(avail, MaxSnapshotsSize + 64 * 1024));
        int offset = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                var e = SnapshotEntry.Parse(table, offset, i, _header.Size, out offset);
                if (offset > MaxSnapshotsSize)
                {
                    throw new CorruptImageException("Snapshot table is too big", Errno.EFBIG);
                }
                _snapshots.Add(e);
            }
        }
        catch (CorruptImageException e)
        {
            string hint = e.Message.StartsWith("Too much extra metadata", StringComparison.Ordinal)
                ? "\nYou can force-remove this extra metadata with qemu-img check -r all"
                : "";
            throw new ImageOpenException(e.Message + hint, e.Errno);
        }
        _snapshotsSize = offset;
    }

    /// <summary>Enters the snapshot table, inactive L1 tables and the L2 tables they reference into the metadata list.</summary>
    private void EnterSnapshotStructures()
    {
        MetaEnter(_snapshotsOffset, _snapshotsSize, OverlapTypes.SnapshotTable);
        foreach (var sn in _snapshots)
        {
            if (sn.L1Size == 0 || sn.L1Size > MaxL1SizeBytes / 8 || OffsetIntoCluster((long)sn.L1TableOffset) != 0)
            {
                continue;
            }
            MetaEnter((long)sn.L1TableOffset, (long)sn.L1Size * 8, OverlapTypes.InactiveL1);
            if ((_overlapCheck & OverlapTypes.InactiveL2) != 0)
            {
                EnterL2Tables(ReadTable((long)sn.L1TableOffset, (int)sn.L1Size), OverlapTypes.InactiveL2);
            }
        }
    }
}
