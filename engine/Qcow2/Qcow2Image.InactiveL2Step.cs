using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

// The failures of the inactive-L2 step of QEMU's overlap check (qcow2_check_metadata_overlap, with overlap-check=all or
// overlap-check.inactive-l2=on). For each snapshot in turn QEMU validates the L1 table (qcow2_validate_table) and reads it
// from the file; a table that is too large (EFBIG), has an unaligned or overflowing offset (EINVAL) or lies past the block
// layer's limit (EIO) fails the check with that error, so the write fails with it and the image is not marked corrupt,
// unless an earlier step or an earlier snapshot's L2 tables already gave an overlap. The series' list and our scan never
// hold such a snapshot's L2 tables, so the step is replayed here after them.
public sealed partial class Qcow2Image
{
    /// <summary>The error the inactive-L2 step fails with on this snapshot, or null when its L1 table can be read.</summary>
    private Errno? InactiveL2StepError(SnapshotEntry sn)
    {
        if (SnapshotL1Error(sn) is (_, Errno e))
        {
            return e;
        }
        long bytes = (long)sn.L1Size * L1Entry.Size;
        return (long)sn.L1TableOffset > StorageRequest.MaxLength - bytes ? Errno.EIO : null;
    }

    /// <summary>
    /// Fails the check as QEMU's inactive-L2 step does when it reaches a snapshot whose L1 table it cannot read: hits are
    /// the overlaps found; only the inactive L2 tables and the bitmap directory come after that step.
    /// </summary>
    private void ReplayInactiveL2StepErrors(OverlapTypes ignore, OverlapTypes hits, long offset, long size)
    {
        if ((_overlapCheck & ~ignore & OverlapTypes.InactiveL2) == 0
            || (hits & ~(OverlapTypes.InactiveL2 | OverlapTypes.BitmapDirectory)) != 0)
        {
            return;
        }
        int failing = FirstInactiveL2StepFailure();
        if (failing < 0)
        {
            return;
        }
        long start = StartOfCluster(offset);
        long end = start + RoundUp(OffsetIntoCluster(offset) + size, _clusterSize);
        if ((hits & OverlapTypes.InactiveL2) != 0 && _snapshots.Take(failing).Any(sn => SnapshotL2Overlaps(sn, start, end)))
        {
            return;
        }
        throw new BlockIOException(InactiveL2StepError(_snapshots[failing])!.Value);
    }

    private (int Version, int Index) _inactiveL2StepFailure = (-1, -1);

    /// <summary>The index of the first snapshot the inactive-L2 step fails on, or -1; worked out again only when the
    /// snapshot list changed, so that a write's check stays constant-time with many snapshots.</summary>
    private int FirstInactiveL2StepFailure()
    {
        if (_inactiveL2StepFailure.Version != _snapshots.Version)
        {
            int index = -1;
            for (int i = 0; i < _snapshots.Count && index < 0; i++)
            {
                index = InactiveL2StepError(_snapshots[i]) is null ? -1 : i;
            }
            _inactiveL2StepFailure = (_snapshots.Version, index);
        }
        return _inactiveL2StepFailure.Index;
    }

    /// <summary>Whether one of the snapshot's L2 tables (read from its L1 table on disk) meets the clusters [start, end).</summary>
    private bool SnapshotL2Overlaps(SnapshotEntry sn, long start, long end)
    {
        bool found = false;
        TableScan.ForEachNonZero(_file, (long)sn.L1TableOffset, (int)sn.L1Size, (_, e) =>
        {
            long l2 = (long)(e & L1Entry.OffsetMask);
            found |= l2 != 0 && l2 < end && start < l2 + _clusterSize;
        });
        return found;
    }
}
