using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    private List<SnapshotEntry> _snapshots = new();
    private long _snapshotsOffset;
    private long _snapshotsSize;

    /// <summary>Reads the snapshot table (qcow2_read_snapshots) with QEMU's limits; bytes past the end of the file read as zeros.</summary>
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
        long offset = _snapshotsOffset;
        long tableLength = 0;
        var fixedPart = new byte[SnapshotEntry.FixedSize];
        for (int i = 0; i < count; i++)
        {
            tableLength = RoundUp(tableLength, 8);
            offset = RoundUp(offset, 8);
            _file.Read(offset, fixedPart);
            uint extraSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(SnapshotEntry.ExtraDataSizeOffset));
            int idSize = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(SnapshotEntry.IdStrSizeOffset));
            int nameSize = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(SnapshotEntry.NameSizeOffset));
            if (extraSize > SnapshotEntry.MaxExtraData)
            {
                throw new ImageOpenException($"Too much extra metadata in snapshot table entry {i}\n"
                    + "You can force-remove this extra metadata with qemu-img check -r all", Errno.EFBIG);
            }
            int entryLength = SnapshotEntry.FixedSize + (int)extraSize + idSize + nameSize;
            var entry = new byte[entryLength];
            _file.Read(offset, entry);
            var sn = SnapshotEntry.Parse(entry, 0, i, (ulong)DiskSizeBytes, out _);
            offset += entryLength;
            tableLength += entryLength;
            if (tableLength > MaxSnapshotsSize || offset - _snapshotsOffset > int.MaxValue)
            {
                throw new ImageOpenException("Snapshot table is too big\n"
                    + $"You can force-remove all {count - i} overhanging snapshots with qemu-img check -r all", Errno.EFBIG);
            }
            _snapshots.Add(sn);
        }
        _snapshotsSize = offset - _snapshotsOffset;
    }

    /// <summary>The virtual size as the block layer sees it (bs->total_sectors * 512).</summary>
    private long DiskSizeBytes => (long)(_header.Size & ~511UL);

    /// <summary>Enters the snapshot table, inactive L1 tables and the L2 tables they reference into the metadata list.</summary>
    private void EnterSnapshotStructures()
    {
        MetaEnter(_snapshotsOffset, _snapshotsSize, OverlapTypes.SnapshotTable);
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
        if (InactiveL2StepError(sn) is null && (_overlapCheck & OverlapTypes.InactiveL2) != 0)
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
        if (InactiveL2StepError(sn) is null && (_overlapCheck & OverlapTypes.InactiveL2) != 0)
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
