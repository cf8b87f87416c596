using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Writes one active L1 entry to the file (qcow2_write_l1_entry: the aligned run of entries around it as long
    /// as the file's request alignment, at most a cluster, zeros past the table; checked against all but the active L1).</summary>
    private void WriteL1Entry(int l1Index)
    {
        int bufSize = (int)Math.Max(8, Math.Min(_file.RequestAlignment, _clusterSize));
        int entries = bufSize / 8;
        int first = l1Index / entries * entries;
        long at = _l1TableOffset + (long)first * 8;
        var buf = new byte[bufSize];
        for (int i = 0; i < Math.Min(entries, _l1Size - first); i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(buf.AsSpan(i * 8), _l1Table[first + i]);
        }
        PreWriteOverlapCheck(OverlapTypes.ActiveL1, at, bufSize);
        _file.DebugEvent("l1_update");
        _file.Write(at, buf);
    }

    /// <summary>Grows the active L1 table to at least minSize entries, moving it to new clusters (qcow2_grow_l1_table).</summary>
    private void GrowL1Table(long minSize, bool exactSize)
    {
        if (minSize <= _l1Size)
        {
            return;
        }
        if (minSize > int.MaxValue / 8)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        long newSize;
        if (exactSize)
        {
            newSize = minSize;
        }
        else
        {
            newSize = Math.Max(_l1Size, 1);
            while (minSize > newSize)
            {
                newSize = DivRoundUp(newSize * 3, 2);
            }
        }
        if (newSize > MaxL1SizeBytes / 8)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        var newTable = new ulong[newSize];
        Array.Copy(_l1Table, newTable, _l1Size);
        long newBytes = newSize * 8;
        _file.DebugEvent("l1_grow_alloc_table");
        long newOffset = AllocClusters(newBytes);
        try
        {
            _refcounts.Cache.Flush();
            PreWriteOverlapCheck(OverlapTypes.None, newOffset, newBytes);
            byte[] raw = TableBytes(newTable, newTable.Length);
            _file.DebugEvent("l1_grow_write_table");
            _file.Write(newOffset, raw);
            var hdr = new byte[12];
            BinaryPrimitives.WriteUInt32BigEndian(hdr, (uint)newSize);
            BinaryPrimitives.WriteUInt64BigEndian(hdr.AsSpan(4), (ulong)newOffset);
            _file.DebugEvent("l1_grow_activate_table");
            _file.Write(Header.L1SizeOffset, hdr);
        }
        catch (BlockIOException)
        {
            // qcow2_grow_l1_table's fail path: the old table stays active; the new clusters are given back.
            FreeClusters(newOffset, newBytes, DiscardType.Other);
            throw;
        }
        long oldOffset = _l1TableOffset;
        int oldSize = _l1Size;
        _l1Table = newTable;
        _l1TableOffset = newOffset;
        _l1Size = (int)newSize;
        _header.L1Size = (uint)newSize;
        _header.L1TableOffset = (ulong)newOffset;
        _tracker.Remove(oldOffset, (long)oldSize * 8, OverlapTypes.ActiveL1);
        _tracker.Enter(_l1TableOffset, (long)_l1Size * 8, OverlapTypes.ActiveL1);
        FreeClusters(oldOffset, (long)oldSize * 8, DiscardType.Other);
    }

    /// <summary>
    /// Allocates a new L2 table for an L1 entry, copying the old one if there was one (l2_allocate). When a write
    /// fails the L1 entry keeps its old value in memory, as on disk, and the new cluster is freed.
    /// </summary>
    private void L2Allocate(int l1Index)
    {
        ulong oldEntry = _l1Table[l1Index];
        long oldL2 = (long)(oldEntry & L1Entry.OffsetMask);
        long l2Offset = AllocClusters(_clusterSize);
        if (l2Offset == 0)
        {
            SignalCorruption(true, -1, -1, "Preventing invalid allocation of L2 table at offset 0");
            throw new BlockIOException(Errno.EIO);
        }
        try
        {
            _refcounts.Cache.Flush();
            byte[] copy;
            if (oldL2 == 0)
            {
                copy = new byte[_clusterSize];
            }
            else
            {
                _file.DebugEvent("l2_alloc_cow_read");
                copy = (byte[])_l2Cache.Get(oldL2).Clone();
            }
            var table = _l2Cache.GetEmpty(l2Offset);
            copy.CopyTo(table, 0);
            _file.DebugEvent("l2_alloc_write");
            _l2Cache.MarkDirty(l2Offset);
            _l2Cache.Flush();
            _l1Table[l1Index] = (ulong)l2Offset | L1Entry.Copied;
            WriteL1Entry(l1Index);
        }
        catch (BlockIOException)
        {
            _l1Table[l1Index] = oldEntry;
            // Freeing the cluster also drops its (possibly still dirty) table from the L2 cache.
            FreeClusters(l2Offset, _clusterSize, DiscardType.Always);
            throw;
        }
        _tracker.Enter(l2Offset, _clusterSize, OverlapTypes.ActiveL2);
    }
}
