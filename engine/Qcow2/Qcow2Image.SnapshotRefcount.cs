using System.Buffers.Binary;
using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// Adds addend (-1, 0 or +1) to the refcount of every L2 table and cluster an L1 table reaches, and sets or clears
    /// COPIED in the L1 and L2 entries so that it is set exactly where the refcount is 1 (qcow2_update_snapshot_refcount).
    /// The active L1 table is taken from memory, any other one read from the file.
    /// </summary>
    private void UpdateSnapshotRefcount(long l1TableOffset, int l1Size, int addend)
    {
        ulong[] l1 = l1TableOffset != _l1TableOffset ? ReadTable(l1TableOffset, l1Size) : _l1Table;
        bool l1Modified = false;
        // The freed clusters are discarded together after the flush, merged where adjacent (s->cache_discards).
        _refcounts.CacheDiscards = true;
        bool flushed = false;
        try
        {
            for (int i = 0; i < l1Size; i++)
            {
                ulong oldL1Entry = l1[i];
                if (oldL1Entry == 0)
                {
                    continue;
                }
                ulong newL1Entry = UpdateL1EntrySnapshotRefcount(oldL1Entry, i, addend);
                if (newL1Entry != oldL1Entry)
                {
                    l1[i] = newL1Entry;
                    l1Modified = true;
                }
            }
            FlushCaches();
            flushed = true;
        }
        catch (RetryAllocation)
        {
            // QEMU passes update_refcount's -EAGAIN (a refcount block was just allocated) up as the result.
            throw new BlockIOException(Errno.EAGAIN);
        }
        finally
        {
            _refcounts.CacheDiscards = false;
            _refcounts.ProcessDiscards(flushed);
        }
        if (addend >= 0 && l1Modified)
        {
            byte[] raw = TableBytes(l1, l1Size);
            _file.Write(l1TableOffset, raw);
            _file.Flush();
        }
    }

    /// <summary>
    /// Updates the refcounts of one L2 table and of everything it maps, and returns the L1 entry with COPIED set
    /// exactly when the table's refcount is now 1.
    /// </summary>
    private ulong UpdateL1EntrySnapshotRefcount(ulong oldL1Entry, int l1Index, int addend)
    {
        long l2Offset = (long)(oldL1Entry & L1Entry.OffsetMask);
        if (OffsetIntoCluster(l2Offset) != 0)
        {
            SignalCorruption(true, -1, -1, $"L2 table offset {Hex(l2Offset)} unaligned (L1 index: {Hex(l1Index)})");
            throw new BlockIOException(Errno.EIO);
        }
        for (int j = 0; j < _l2Size; j++)
        {
            UpdateL2EntrySnapshotRefcount(l2Offset, j, addend);
        }
        if (addend != 0)
        {
            SnapshotRefcountUpdate(l2Offset, 1, addend < 0);
        }
        ulong newL1Entry = (ulong)l2Offset;
        if (GetRefcount(l2Offset >> _clusterBits) == 1)
        {
            newL1Entry |= L1Entry.Copied;
        }
        return newL1Entry;
    }

    /// <summary>Updates the refcount of the cluster one L2 entry maps and sets or clears the entry's COPIED flag.</summary>
    private void UpdateL2EntrySnapshotRefcount(long l2Offset, int j, int addend)
    {
        var table = _l2Cache.Get(l2Offset);
        ulong old = GetEntry(table, j);
        ulong entry = old & ~L2Entry.Copied;
        ulong refcount = UpdateMappedClusterRefcount(new L2Entry(entry), l2Offset, j, addend);
        if (refcount == 1)
        {
            entry |= L2Entry.Copied;
        }
        if (entry != old)
        {
            if (addend > 0)
            {
                _l2Cache.SetDependency(_refcounts.Cache);
            }
            // The refcount update may have evicted or dropped the table: look it up again.
            table = _l2Cache.Get(l2Offset);
            SetEntry(table, j, entry);
            _l2Cache.MarkDirty(l2Offset);
        }
    }

    /// <summary>
    /// Adds addend to the refcount of the data an L2 entry maps and returns the refcount that decides its COPIED flag.
    /// </summary>
    private ulong UpdateMappedClusterRefcount(L2Entry e, long l2Offset, int j, int addend)
    {
        bool decrease = addend < 0;
        switch (e.Type)
        {
            case ClusterType.Compressed:
                if (addend != 0)
                {
                    SnapshotRefcountUpdate(e.CompressedOffset(_clusterBits), e.CompressedSize(_clusterBits), decrease);
                }
                // Compressed clusters are never written in place, so they never carry COPIED.
                return 2;
            case ClusterType.Normal:
            case ClusterType.ZeroAlloc:
                if (OffsetIntoCluster(e.HostOffset) != 0)
                {
                    SignalCorruption(true, -1, -1,
                        $"Cluster allocation offset {Hex(e.HostOffset)} unaligned (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(j)})");
                    throw new BlockIOException(Errno.EIO);
                }
                if (addend != 0)
                {
                    SnapshotRefcountUpdate(e.HostOffset, 1, decrease);
                }
                return GetRefcount(e.HostOffset >> _clusterBits);
            default:
                return 0;
        }
    }

    /// <summary>Adds or subtracts one reference for the clusters of a range, with snapshot discard semantics.</summary>
    private void SnapshotRefcountUpdate(long offset, long length, bool decrease) =>
        UpdateRefcount(offset, length, 1, decrease, DiscardType.Snapshot);
}
