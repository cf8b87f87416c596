using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Options;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// Creates an internal snapshot of the current state, as qemu-img snapshot -c does (qcow2_snapshot_create): the next
    /// free numeric id, a copy of the active L1 table, one more reference on everything it reaches, a rewritten table.
    /// Throws BlockIOException with QEMU's error number on failure.
    /// </summary>
    public void CreateSnapshot(string name)
    {
        CheckWritable();
        RunCrashSafe(() => CreateSnapshotCore(name));
    }

    private void CreateSnapshotCore(string name)
    {
        if (_snapshots.Count >= MaxSnapshots)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        long usec = (_options.Clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
        var sn = new SnapshotEntry
        {
            Id = NextSnapshotId(),
            Name = name,
            DiskSize = (ulong)DiskSizeBytes,
            VmStateSize = 0,
            DateSec = (uint)(usec / 1_000_000),
            DateNsec = (uint)(usec % 1_000_000 * 1000),
            VmClockNsec = 0,
            // qemu-img zeroes its QEMUSnapshotInfo, so the instruction count is recorded as 0, not -1.
            Icount = 0,
            ExtraDataSize = SnapshotEntry.QemuExtraSize,
        };

        long l1Bytes = (long)_l1Size * 8;
        long l1Offset = AllocClusters(l1Bytes);
        sn.L1TableOffset = (ulong)l1Offset;
        sn.L1Size = (uint)_l1Size;
        PreWriteOverlapCheck(OverlapTypes.None, l1Offset, l1Bytes);
        _file.Write(l1Offset, TableBytes(_l1Table, _l1Size));

        UpdateSnapshotRefcount(_l1TableOffset, _l1Size, 1);

        _snapshots.Add(sn);
        EnterInactiveTables(sn);
        try
        {
            WriteSnapshots();
        }
        catch
        {
            _snapshots.RemoveAt(_snapshots.Count - 1);
            RemoveInactiveTables(sn);
            throw;
        }
    }

    /// <summary>
    /// Makes a snapshot's state the current one (qcow2_snapshot_goto), looked up by id, then by name. Throws
    /// SnapshotException with "Failed to load snapshot: ..." as bdrv_snapshot_goto words it.
    /// </summary>
    public void ApplySnapshot(string idOrName)
    {
        CheckWritable();
        if (_dirtyBitmaps.Count > 0)
        {
            // bdrv_snapshot_goto refuses before looking the snapshot up: the bitmaps would no longer match the data.
            throw new SnapshotException("Device has active dirty bitmaps", Errno.EBUSY);
        }
        var reports = new List<string>();
        try
        {
            RunCrashSafe(() => GotoSnapshot(idOrName, reports));
        }
        catch (BlockIOException e) when (e is not SnapshotException)
        {
            throw new SnapshotException($"Failed to load snapshot: {ErrnoText.Of(e.Errno)}", e.Errno, reports);
        }
    }

    /// <summary>Deletes the first snapshot whose id, or else whose name, is idOrName (bdrv_snapshot_delete_by_id_or_name).</summary>
    public void DeleteSnapshot(string idOrName)
    {
        if (FindSnapshot(idOrName, null) >= 0)
        {
            DeleteSnapshot(idOrName, null);
        }
        else
        {
            DeleteSnapshot(null, idOrName);
        }
    }

    /// <summary>
    /// Deletes the snapshot matching id and/or name (qcow2_snapshot_delete): removes it from the table, drops one reference
    /// on everything its L1 table reaches, frees the L1 table and recomputes COPIED in the active tables. Throws
    /// SnapshotException with QEMU's message.
    /// </summary>
    public void DeleteSnapshot(string? id, string? name)
    {
        CheckWritable();
        RunCrashSafe(() => DeleteSnapshotCore(id, name));
    }

    private void DeleteSnapshotCore(string? id, string? name)
    {
        int index = FindUsableSnapshot(id, name, "Can't find the snapshot");
        var sn = _snapshots[index];
        _snapshots.RemoveAt(index);
        RemoveInactiveTables(sn);
        try
        {
            WriteSnapshots();
        }
        catch (BlockIOException e)
        {
            throw new SnapshotException($"Failed to remove snapshot from snapshot list: {ErrnoText.Of(e.Errno)}", e.Errno);
        }
        try
        {
            UpdateSnapshotRefcount((long)sn.L1TableOffset, (int)sn.L1Size, -1);
        }
        catch (BlockIOException e)
        {
            throw new SnapshotException($"Failed to free the cluster and L1 table: {ErrnoText.Of(e.Errno)}", e.Errno);
        }
        FreeClusters((long)sn.L1TableOffset, (long)sn.L1Size * 8, DiscardType.Snapshot);
        try
        {
            UpdateSnapshotRefcount(_l1TableOffset, _l1Size, 0);
        }
        catch (BlockIOException e)
        {
            throw new SnapshotException($"Failed to update snapshot status in disk: {ErrnoText.Of(e.Errno)}", e.Errno);
        }
    }

    private void GotoSnapshot(string idOrName, List<string> reports)
    {
        int index = FindSnapshot(idOrName, null);
        if (index < 0)
        {
            index = FindSnapshot(null, idOrName);
        }
        if (index < 0)
        {
            throw new BlockIOException(Errno.ENOENT);
        }
        var sn = _snapshots[index];
        if (SnapshotL1Error(sn) is (string msg, Errno errno))
        {
            reports.Add(msg);
            throw new BlockIOException(errno);
        }
        if (sn.DiskSize != (ulong)DiskSizeBytes)
        {
            // qcow2_snapshot_goto resizes the image to the snapshot's size first (exact, shrinking allowed).
            try
            {
                Truncate((long)sn.DiskSize, "off");
            }
            catch (ImageChangeException e)
            {
                reports.AddRange(e.Reports);
                reports.Add(e.Message);
                throw new BlockIOException(e.Errno);
            }
        }
        GrowL1Table(sn.L1Size, true);

        var snL1 = new ulong[_l1Size];
        Array.Copy(ReadTable((long)sn.L1TableOffset, (int)sn.L1Size), snL1, (int)sn.L1Size);
        UpdateSnapshotRefcount((long)sn.L1TableOffset, (int)sn.L1Size, 1);

        PreWriteOverlapCheck(OverlapTypes.ActiveL1, _l1TableOffset, (long)_l1Size * 8);
        _file.Write(_l1TableOffset, TableBytes(snL1, _l1Size));
        _file.Flush();

        // The active L1 in memory still holds the old tables, whose references this drops.
        BlockIOException? failure = null;
        try
        {
            UpdateSnapshotRefcount(_l1TableOffset, _l1Size, -1);
        }
        catch (BlockIOException e)
        {
            failure = e;
        }
        foreach (ulong e in _l1Table)
        {
            long l2 = (long)(e & L1Entry.OffsetMask);
            if (l2 != 0)
            {
                _tracker.Remove(l2, _clusterSize, OverlapTypes.ActiveL2);
            }
        }
        Array.Copy(snL1, _l1Table, _l1Size);
        ForEachMetadataStructure(OverlapTypes.ActiveL2, _tracker.Enter);
        if (failure is not null)
        {
            throw failure;
        }
        UpdateSnapshotRefcount(_l1TableOffset, _l1Size, 0);
    }

    /// <summary>qcow2_validate_table on a snapshot's L1 table: its message and error, or null when it is valid.</summary>
    private (string, Errno)? SnapshotL1Error(SnapshotEntry sn)
    {
        if (sn.L1Size > MaxL1SizeBytes / 8)
        {
            return ("Snapshot L1 table too large", Errno.EFBIG);
        }
        if ((ulong)long.MaxValue - (ulong)sn.L1Size * 8 < sn.L1TableOffset || (sn.L1TableOffset & (ulong)(_clusterSize - 1)) != 0)
        {
            return ("Snapshot L1 table offset invalid", Errno.EINVAL);
        }
        return null;
    }

    /// <summary>find_snapshot_by_id_and_name: the first entry matching both, the id alone or the name alone; -1 if none.</summary>
    private int FindSnapshot(string? id, string? name)
    {
        for (int i = 0; i < _snapshots.Count; i++)
        {
            var s = _snapshots[i];
            if ((id is null || s.Id == id) && (name is null || s.Name == name) && (id is not null || name is not null))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// The index of the snapshot matching id and name whose L1 table is valid; a SnapshotException with the message
    /// notFound (ENOENT) when there is none, or with the table's error.
    /// </summary>
    private int FindUsableSnapshot(string? id, string? name, string notFound)
    {
        int index = FindSnapshot(id, name);
        if (index < 0)
        {
            throw new SnapshotException(notFound, Errno.ENOENT);
        }
        if (SnapshotL1Error(_snapshots[index]) is (string msg, Errno errno))
        {
            throw new SnapshotException(msg, errno);
        }
        return index;
    }

    /// <summary>find_new_snapshot_id: one more than the largest id read as an unsigned decimal prefix.</summary>
    private string NextSnapshotId()
    {
        ulong max = 0;
        foreach (var s in _snapshots)
        {
            // strtoul(id, NULL, 10): leading blanks and sign, then digits; saturates at ULONG_MAX.
            ulong v = QemuNumbers.StrToULL(s.Id, 0, 10, out _, out _);
            if (v > max)
            {
                max = v;
            }
        }
        return unchecked(max + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The first entries of a table of 64-bit entries (L1, refcount table), big-endian as on disk.</summary>
    internal static byte[] TableBytes(ulong[] table, int entries)
    {
        var raw = new byte[entries * 8];
        for (int i = 0; i < entries; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * 8), table[i]);
        }
        return raw;
    }
}
