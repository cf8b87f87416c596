using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>The internal snapshot table (QEMU's qcow2-snapshot.c).</summary>
    private readonly SnapshotTable _snapshots;

    /// <summary>Writes the snapshot list as a new table (qcow2_write_snapshots).</summary>
    private void WriteSnapshots() => _snapshots.Write();

    /// <summary>The virtual size as the block layer sees it (bs->total_sectors * 512).</summary>
    private long DiskSizeBytes => (long)(_header.Size & ~511UL);

    /// <summary>Tells the tracker about one snapshot's L1 table and, when tracked, its L2 tables (a new snapshot, or re-entering).</summary>
    private void EnterInactiveTables(SnapshotEntry sn) => ForEachSnapshotStructure(sn, _trackedTypes, _tracker.Enter);

    /// <summary>Removes a snapshot's tables from the metadata list, re-entering the inactive L2 tables other snapshots still share.</summary>
    private void RemoveInactiveTables(SnapshotEntry sn)
    {
        if (sn.L1Size == 0 || OffsetIntoCluster((long)sn.L1TableOffset) != 0)
        {
            return;
        }
        if (InactiveL2StepError(sn) is null && (_trackedTypes & OverlapTypes.InactiveL2) != 0)
        {
            TableScan.ForEachNonZero(_file, (long)sn.L1TableOffset, (int)sn.L1Size, (_, e) =>
            {
                long l2 = (long)(e & L1Entry.OffsetMask);
                if (l2 != 0)
                {
                    _tracker.Remove(l2, _clusterSize, OverlapTypes.InactiveL2);
                }
            });
        }
        _tracker.Remove((long)sn.L1TableOffset, (long)sn.L1Size * 8, OverlapTypes.InactiveL1);
        foreach (var other in _snapshots)
        {
            EnterInactiveTables(other);
        }
    }
}
