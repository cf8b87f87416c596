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

    /// <summary>Enters the snapshot table, inactive L1 tables and the L2 tables they reference into the metadata list.</summary>
    private void EnterSnapshotStructures()
    {
        MetaEnter(_snapshots.Offset, _snapshots.Size, OverlapTypes.SnapshotTable);
        // Without a memory limit entering cannot fail and is idempotent, so the inactive L2 tables that snapshots share are
        // entered once each, in file order (one pass over the windows instead of cache churn per snapshot). With a limit the
        // series' order is kept, because it decides which ranges go unchecked and which events are emitted.
        var l2Tables = _metadataList?.TotalSizeLimit is null ? new HashSet<long>() : null;
        foreach (var sn in _snapshots)
        {
            EnterInactiveTables(sn, l2Tables);
        }
        foreach (long l2 in l2Tables?.Order() ?? Enumerable.Empty<long>())
        {
            MetaEnter(l2, _clusterSize, OverlapTypes.InactiveL2);
        }
    }

    /// <summary>Enters one snapshot's L1 table and, when inactive L2 tables are checked, its L2 tables (or adds them to collect).</summary>
    private void EnterInactiveTables(SnapshotEntry sn, HashSet<long>? collect = null)
    {
        if (sn.L1Size == 0 || OffsetIntoCluster((long)sn.L1TableOffset) != 0)
        {
            return;
        }
        // Like upstream's scan, the whole claimed range counts, even when it is too large to be loaded.
        MetaEnter((long)sn.L1TableOffset, (long)sn.L1Size * 8, OverlapTypes.InactiveL1);
        if (sn.L1Size <= MaxL1SizeBytes / 8 && (_overlapCheck & OverlapTypes.InactiveL2) != 0)
        {
            // One read into a pooled buffer, only the non-zero entries decoded (a 64 TiB image's snapshot L1 is 1 MiB).
            TableScan.ForEachNonZero(_file, (long)sn.L1TableOffset, (int)sn.L1Size, (_, e) =>
            {
                long l2 = (long)(e & L1Entry.OffsetMask);
                if (l2 == 0)
                {
                    return;
                }
                if (collect is null)
                {
                    MetaEnter(l2, _clusterSize, OverlapTypes.InactiveL2);
                }
                else
                {
                    collect.Add(l2);
                }
            });
        }
    }

    /// <summary>Removes a snapshot's tables from the metadata list, re-entering the inactive L2 tables other snapshots still share.</summary>
    private void RemoveInactiveTables(SnapshotEntry sn)
    {
        if (_metadataList is null || sn.L1Size == 0 || OffsetIntoCluster((long)sn.L1TableOffset) != 0)
        {
            return;
        }
        if (sn.L1Size <= MaxL1SizeBytes / 8 && (_overlapCheck & OverlapTypes.InactiveL2) != 0)
        {
            TableScan.ForEachNonZero(_file, (long)sn.L1TableOffset, (int)sn.L1Size, (_, e) =>
            {
                long l2 = (long)(e & L1Entry.OffsetMask);
                if (l2 != 0)
                {
                    MetaRemove(l2, _clusterSize, OverlapTypes.InactiveL2);
                }
            });
        }
        MetaRemove((long)sn.L1TableOffset, (long)sn.L1Size * 8, OverlapTypes.InactiveL1);
        foreach (var other in _snapshots)
        {
            EnterInactiveTables(other);
        }
    }
}
