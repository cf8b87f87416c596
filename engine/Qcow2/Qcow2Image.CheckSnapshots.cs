using System.Buffers.Binary;
using System.Text;
using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>A snapshot table the strict read rejects, with QEMU's message and the hint printed after it.</summary>
    private sealed class SnapshotTableException(string message, string hint, Errno errno) : CorruptImageException(message, errno)
    {
        public string Hint { get; } = hint;
    }

    /// <summary>Entries of the snapshot table a check found damaged and must rewrite (extra data too large or too short).</summary>
    private sealed class SnapshotReadRepairs
    {
        public int ClustersReduced;
        public int ExtraDataDropped;
    }

    /// <summary>
    /// qcow2_do_read_snapshots as the check runs it: reads the table entry by entry from the file; with repair,
    /// too much extra data is cut to QEMU's limit and snapshots beyond the 64 MiB table limit are dropped.
    /// Returns the entries and the table size, or throws CorruptImageException with QEMU's message and hint.
    /// </summary>
    private (List<SnapshotEntry> List, long Size) CheckReadSnapshots(long tableOffset, int count, bool repair, SnapshotReadRepairs repairs)
    {
        var list = new List<SnapshotEntry>(Math.Min(count, 1024));
        if (count == 0)
        {
            return (list, 0);
        }
        long offset = tableOffset;
        long tableLength = 0;
        for (int i = 0; i < count; i++)
        {
            bool truncateExtra = false;
            long preOffset = offset;
            tableLength = RoundUp(tableLength, 8);
            offset = RoundUp(offset, 8);
            var h = ReadFile(offset, SnapshotEntry.FixedSize);
            offset += SnapshotEntry.FixedSize;
            var sn = new SnapshotEntry
            {
                L1TableOffset = BinaryPrimitives.ReadUInt64BigEndian(h.AsSpan(SnapshotEntry.L1TableOffsetOffset)),
                L1Size = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(SnapshotEntry.L1SizeOffset)),
                VmStateSize = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(SnapshotEntry.VmStateSizeOffset)),
                DateSec = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(SnapshotEntry.DateSecOffset)),
                DateNsec = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(SnapshotEntry.DateNsecOffset)),
                VmClockNsec = BinaryPrimitives.ReadUInt64BigEndian(h.AsSpan(SnapshotEntry.VmClockNsecOffset)),
                ExtraDataSize = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(SnapshotEntry.ExtraDataSizeOffset)),
            };
            int idSize = BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(SnapshotEntry.IdStrSizeOffset));
            int nameSize = BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(SnapshotEntry.NameSizeOffset));
            if (sn.ExtraDataSize > SnapshotEntry.MaxExtraData)
            {
                if (!repair)
                {
                    throw new SnapshotTableException($"Too much extra metadata in snapshot table entry {i}",
                        "You can force-remove this extra metadata with qemu-img check -r all\n", Errno.EFBIG);
                }
                CheckPrint($"Discarding too much extra metadata in snapshot table entry {i} ({sn.ExtraDataSize} > {SnapshotEntry.MaxExtraData})");
                repairs.ExtraDataDropped++;
                truncateExtra = true;
            }
            int known = (int)Math.Min(SnapshotEntry.QemuExtraSize, sn.ExtraDataSize);
            var extra = new byte[SnapshotEntry.QemuExtraSize];
            ReadFile(offset, known).CopyTo(extra, 0);
            offset += known;
            sn.VmStateSize = sn.ExtraDataSize >= 8 ? BinaryPrimitives.ReadUInt64BigEndian(extra) : sn.VmStateSize;
            sn.DiskSize = sn.ExtraDataSize >= 16 ? BinaryPrimitives.ReadUInt64BigEndian(extra.AsSpan(8)) : (ulong)RoundUp(Size, 512);
            sn.Icount = sn.ExtraDataSize >= 24 ? BinaryPrimitives.ReadUInt64BigEndian(extra.AsSpan(16)) : ulong.MaxValue;
            if (sn.ExtraDataSize > SnapshotEntry.QemuExtraSize)
            {
                long extraEnd = offset + sn.ExtraDataSize - SnapshotEntry.QemuExtraSize;
                if (truncateExtra)
                {
                    sn.ExtraDataSize = SnapshotEntry.MaxExtraData;
                }
                sn.UnknownExtra = ReadFile(offset, (int)sn.ExtraDataSize - SnapshotEntry.QemuExtraSize);
                offset = extraEnd;
            }
            sn.Id = CString(ReadFile(offset, idSize));
            offset += idSize;
            sn.Name = CString(ReadFile(offset, nameSize));
            offset += nameSize;

            tableLength += SnapshotEntry.FixedSize + sn.ExtraDataSize + idSize + nameSize;
            if (tableLength > MaxSnapshotsSize || offset - tableOffset > int.MaxValue)
            {
                if (!repair)
                {
                    throw new SnapshotTableException("Snapshot table is too big",
                        $"You can force-remove all {count - i} overhanging snapshots with qemu-img check -r all\n", Errno.EFBIG);
                }
                CheckPrint($"Discarding {count - i} overhanging snapshots (snapshot table is too big)");
                repairs.ClustersReduced += count - i;
                offset = preOffset;
                break;
            }
            list.Add(sn);
        }
        return (list, offset - tableOffset);
    }

    /// <summary>A C string read from a buffer: everything before the first NUL.</summary>
    private static string CString(byte[] b)
    {
        int nul = Array.IndexOf(b, (byte)0);
        return Encoding.UTF8.GetString(b, 0, nul < 0 ? b.Length : nul);
    }

    /// <summary>qcow2_check_read_snapshot_table: reads the snapshot table the check mode open skipped.</summary>
    private int CheckReadSnapshotTable(ref CheckTally result, CheckRepair fix)
    {
        var ptr = ReadFile(Header.NbSnapshotsOffset, 12);
        uint nb = BinaryPrimitives.ReadUInt32BigEndian(ptr);
        long offset = (long)BinaryPrimitives.ReadUInt64BigEndian(ptr.AsSpan(4));
        long reduced = 0;
        if (nb > MaxSnapshots && (fix & CheckRepair.Errors) != 0)
        {
            CheckPrint($"Discarding {nb - MaxSnapshots} overhanging snapshots");
            reduced += nb - MaxSnapshots;
            nb = MaxSnapshots;
        }

        string? error = null;
        int ret = 0;
        if (nb > MaxSnapshots)
        {
            error = "snapshot table too large";
            ret = Neg(Errno.EFBIG);
        }
        else if ((ulong)long.MaxValue - (ulong)nb * SnapshotEntry.FixedSize < (ulong)offset || OffsetIntoCluster(offset) != 0)
        {
            error = "snapshot table offset invalid";
            ret = Neg(Errno.EINVAL);
        }
        if (ret < 0)
        {
            result.CheckErrors++;
            CheckReport("ERROR " + error);
            if (nb > MaxSnapshots)
            {
                CheckPrint($"You can force-remove all {nb - MaxSnapshots} overhanging snapshots with qemu-img check -r all");
            }
            ForgetCheckSnapshots();
            return ret;
        }

        var repairs = new SnapshotReadRepairs();
        List<SnapshotEntry> list;
        long size;
        try
        {
            (list, size) = CheckReadSnapshots(offset, (int)nb, (fix & CheckRepair.Errors) != 0, repairs);
        }
        catch (SnapshotTableException e)
        {
            result.CheckErrors++;
            CheckReport($"ERROR failed to read the snapshot table: {e.Message}");
            _checkOut.Write(e.Hint);
            ForgetCheckSnapshots();
            return Neg(e.Errno);
        }
        reduced += repairs.ClustersReduced;

        // Forget what the overlap checks knew of the previous table, then enter this one.
        ForgetCheckSnapshots();
        _snapshots.Replace(list, offset, size);
        // Any later header rewrite of the check (qcow2_update_header) writes what was read, as QEMU's s->nb_snapshots.
        _header.NbSnapshots = (uint)list.Count;
        _header.SnapshotsOffset = (ulong)offset;
        EnterCheckSnapshots();

        result.Corruptions += reduced + repairs.ExtraDataDropped;
        if (reduced != 0)
        {
            int wret = WriteKeptSnapshotCount(ref result, reduced, list.Count);
            if (wret < 0)
            {
                return wret;
            }
        }

        if (_header.Version >= 3)
        {
            ReportIncompleteSnapshotEntries(ref result, fix);
        }
        return 0;
    }

    /// <summary>
    /// Writes the number of snapshots the check kept into the header; the header must count what was kept before the
    /// refcounts are checked, which leaks clusters the check then frees.
    /// </summary>
    private int WriteKeptSnapshotCount(ref CheckTally result, long reduced, int kept)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, (uint)kept);
        int wret = Guard(() =>
        {
            _file.Write(Header.NbSnapshotsOffset, b);
            _file.Flush();
        });
        if (wret < 0)
        {
            result.CheckErrors++;
            CheckPrint($"ERROR failed to update the snapshot count in the image header: {StrError(wret)}");
            return wret;
        }
        _header.NbSnapshots = (uint)kept;
        result.CorruptionsFixed += reduced;
        result.Corruptions -= reduced;
        return 0;
    }

    /// <summary>Counts and reports each v3 snapshot table entry whose extra data is shorter than version 3 requires.</summary>
    private void ReportIncompleteSnapshotEntries(ref CheckTally result, CheckRepair fix)
    {
        for (int i = 0; i < _snapshots.Count; i++)
        {
            if (_snapshots[i].ExtraDataSize < SnapshotEntry.V3MinExtraSize)
            {
                result.Corruptions++;
                CheckPrint($"{((fix & CheckRepair.Errors) != 0 ? "Repairing" : "ERROR")} snapshot table entry {i} is incomplete");
            }
        }
    }

    /// <summary>qcow2_check_fix_snapshot_table: rewrites the snapshot table when the check found it damaged and may repair it.</summary>
    private int CheckFixSnapshotTable(ref CheckTally result, CheckRepair fix)
    {
        if (result.Corruptions != 0 && (fix & CheckRepair.Errors) != 0)
        {
            int ret = Guard(WriteSnapshots);
            if (ret < 0)
            {
                result.CheckErrors++;
                CheckPrint($"ERROR failed to update snapshot table: {StrError(ret)}");
                return ret;
            }
            result.CorruptionsFixed += result.Corruptions;
            result.Corruptions = 0;
        }
        return 0;
    }

    /// <summary>Tells the tracker about the snapshot table and the snapshots' L1 (and, when tracked, L2) tables the check read.</summary>
    private void EnterCheckSnapshots()
    {
        _tracker.Enter(_snapshots.Offset, _snapshots.Size, OverlapTypes.SnapshotTable);
        foreach (var sn in _snapshots)
        {
            // Like QEMU's scan, which the check's repairs run against, even an oversized L1 table counts; one that ends
            // past 2^63 does not.
            if (sn.L1TableOffset <= (ulong)long.MaxValue - (ulong)sn.L1Size * 8)
            {
                ForEachSnapshotStructure(sn, _trackedTypes, _tracker.Enter);
            }
        }
    }

    /// <summary>Drops the snapshot list the check read (QEMU invalidates it when the table cannot be read).</summary>
    private void ForgetCheckSnapshots()
    {
        _tracker.Remove(_snapshots.Offset, _snapshots.Size, OverlapTypes.SnapshotTable);
        _snapshots.Replace(new List<SnapshotEntry>(), 0, 0);
        _header.NbSnapshots = 0;
        _header.SnapshotsOffset = 0;
    }

    /// <summary>qcow2_check_bitmaps_refcounts: counts the bitmap directory, the bitmap tables and their data clusters.</summary>
    private int CheckBitmapsRefcounts(ref CheckTally res, RefcountArray table)
    {
        if ((_header.AutoclearFeatures & Features.AutoclearBitmaps) == 0)
        {
            return 0;
        }
        var ext = _unknownExtensions.FirstOrDefault(e => e.Type == HeaderExtension.Bitmaps);
        if (ext is null || ext.Data.Length < 4)
        {
            return 0;
        }
        uint nbBitmaps = BinaryPrimitives.ReadUInt32BigEndian(ext.Data);
        if (nbBitmaps == 0)
        {
            return 0;
        }
        int ret = IncRefcounts(ref res, table, _bitmapDirectory.Offset, _bitmapDirectory.Size);
        if (ret < 0)
        {
            return ret;
        }
        var bitmaps = LoadBitmapList(nbBitmaps);
        if (bitmaps is null)
        {
            res.Corruptions++;
            return Neg(Errno.EINVAL);
        }
        foreach (var (tableOffset, tableSize) in bitmaps)
        {
            ret = IncRefcounts(ref res, table, tableOffset, (long)tableSize * 8);
            if (ret < 0)
            {
                return ret;
            }
            var raw = ReadFile(tableOffset, (int)tableSize * 8);
            var entries = new ulong[tableSize];
            bool bad = false;
            for (int i = 0; i < tableSize; i++)
            {
                entries[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
                bad |= !BitmapTableEntryValid(entries[i]);
            }
            if (bad)
            {
                res.Corruptions++;
                return Neg(Errno.EINVAL);
            }
            foreach (ulong e in entries)
            {
                long offset = (long)(e & BitmapTableOffsetMask);
                if (offset == 0)
                {
                    continue;
                }
                ret = IncRefcounts(ref res, table, offset, _clusterSize);
                if (ret < 0)
                {
                    return ret;
                }
            }
        }
        return 0;
    }

    /// <summary>Bits 9..55 of a bitmap table entry: the data cluster offset.</summary>
    private const ulong BitmapTableOffsetMask = BitmapTableEntry.OffsetMask;
    /// <summary>Bits 1..8 and 56..63 of a bitmap table entry are reserved.</summary>
    private const ulong BitmapTableReservedMask = 0xff000000000001fe;

    private bool BitmapTableEntryValid(ulong entry)
    {
        if ((entry & BitmapTableReservedMask) != 0)
        {
            return false;
        }
        long offset = (long)(entry & BitmapTableOffsetMask);
        return offset == 0 || ((entry & 1) == 0 && OffsetIntoCluster(offset) == 0);
    }

    /// <summary>bitmap_list_load, reduced to what the check needs: each bitmap's table offset and size, or null when the directory is broken.</summary>
    private List<(long Offset, uint Size)>? LoadBitmapList(uint nbBitmaps)
    {
        const int entryHeader = 24;
        const long maxDirectorySize = 1024L * 1024 * 64;
        if (_bitmapDirectory.Size == 0 || _bitmapDirectory.Size > maxDirectorySize)
        {
            return null;
        }
        var dir = ReadFile(_bitmapDirectory.Offset, (int)_bitmapDirectory.Size);
        var list = new List<(long, uint)>();
        int pos = 0;
        uint n = 0;
        while (pos < dir.Length)
        {
            if (pos + entryHeader > dir.Length || ++n > nbBitmaps)
            {
                return null;
            }
            var e = dir.AsSpan(pos);
            long tableOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(e);
            uint tableSize = BinaryPrimitives.ReadUInt32BigEndian(e[8..]);
            uint flags = BinaryPrimitives.ReadUInt32BigEndian(e[12..]);
            byte type = e[16];
            byte granularity = e[17];
            int nameSize = BinaryPrimitives.ReadUInt16BigEndian(e[18..]);
            uint extraSize = BinaryPrimitives.ReadUInt32BigEndian(e[20..]);
            long next = pos + ((entryHeader + nameSize + (long)extraSize + 7) & ~7L);
            if (next > dir.Length || extraSize != 0)
            {
                return null;
            }
            bool bad = tableSize == 0 || tableOffset == 0 || OffsetIntoCluster(tableOffset) != 0 || tableSize > 0x8000000
                || granularity > 31 || granularity < 9 || (flags & 0xfffffffc) != 0 || nameSize > 1023 || type != 1;
            long physBytes = (long)tableSize * _clusterSize;
            if (bad || physBytes > 0x20000000 || (ulong)Size > ((ulong)physBytes * 8) << granularity)
            {
                return null;
            }
            list.Add((tableOffset, tableSize));
            pos = (int)next;
        }
        return n == nbBitmaps ? list : null;
    }
}
