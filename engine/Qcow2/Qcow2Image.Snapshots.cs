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

    /// <summary>Tells the tracker about one snapshot's L1 table and, when tracked, its L2 tables (a new snapshot, or re-entering).</summary>
    private void EnterInactiveTables(SnapshotEntry sn) => ForEachSnapshotStructure(sn, _trackedTypes, _tracker.Enter);

    /// <summary>Removes a snapshot's tables from the metadata list, re-entering the inactive L2 tables other snapshots still share.</summary>
    private void RemoveInactiveTables(SnapshotEntry sn)
    {
        if (sn.L1Size == 0 || OffsetIntoCluster((long)sn.L1TableOffset) != 0)
        {
            return;
        }
        if (sn.L1Size <= MaxL1SizeBytes / 8 && (_trackedTypes & OverlapTypes.InactiveL2) != 0)
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
