using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    private bool HasCompressedClusters()
    {
        long offset = 0, bytes = DiskSizeBytes;
        while (bytes > 0)
        {
            long n = Math.Min(int.MaxValue, bytes);
            if (GetHostOffset(offset, ref n, out _, out _) == ClusterType.Compressed)
            {
                return true;
            }
            offset += n;
            bytes -= n;
        }
        return false;
    }

    /// <summary>
    /// qcow2_expand_zero_clusters: in the active L1 table and then every snapshot's, plain zero clusters become
    /// unallocated (or, with a backing file, newly allocated zeroed clusters) and preallocated ones plain data.
    /// </summary>
    private void ExpandZeroClusters()
    {
        _expandTotal = _l1Size + _snapshots.Sum(sn => (long)sn.L1Size);
        _expandVisited = 0;
        ExpandZeroClustersInL1(_l1Table, _l1Size, active: true);
        // Inactive L1 tables may share the active L2 tables: write and drop the cached ones first.
        _l2Cache.Flush();
        _l2Cache.Clear();
        foreach (var sn in _snapshots)
        {
            if (SnapshotL1Error(sn) is (string msg, Errno errno))
            {
                _amendReports.Add(msg);
                throw new BlockIOException(errno);
            }
            if (sn.L1Size == 0)
            {
                // QEMU reallocates its buffer to the table's size, and g_try_realloc of 0 bytes returns NULL.
                throw new BlockIOException(Errno.ENOMEM);
            }
            var l1 = ReadTable((long)sn.L1TableOffset, (int)sn.L1Size);
            ExpandZeroClustersInL1(l1, (int)sn.L1Size, active: false);
        }
    }

    private long _expandTotal, _expandVisited;

    private void ExpandZeroClustersInL1(ulong[] l1, int l1Size, bool active)
    {
        for (int i = 0; i < l1Size; i++)
        {
            long l2Offset = (long)(l1[i] & L1Entry.OffsetMask);
            if (l2Offset == 0)
            {
                _amendProgress.Status(++_expandVisited, _expandTotal);
                continue;
            }
            if (OffsetIntoCluster(l2Offset) != 0)
            {
                SignalCorruption(true, -1, -1, $"L2 table offset {Hex(l2Offset)} unaligned (L1 index: {Hex(i)})");
                throw new BlockIOException(Errno.EIO);
            }
            ulong l2Refcount = GetRefcount(l2Offset >> _clusterBits);
            byte[] table = active ? _l2Cache.Get(l2Offset) : ReadFile(l2Offset, _clusterSize);
            bool dirty = false;
            for (int j = 0; j < _l2Size; j++)
            {
                if (active)
                {
                    // Allocations may evict or reload the cached table.
                    table = _l2Cache.Get(l2Offset);
                }
                ExpandZeroCluster(ref table, l2Offset, j, l2Refcount, active, ref dirty);
            }
            if (!active && dirty)
            {
                PreWriteOverlapCheck(Overlap.OverlapTypes.InactiveL2 | Overlap.OverlapTypes.ActiveL2, l2Offset, _clusterSize);
                _file.Write(l2Offset, table);
            }
            _amendProgress.Status(++_expandVisited, _expandTotal);
        }
    }

    /// <summary>
    /// Expands entry j of the L2 table at l2Offset when it is a zero cluster: a plain one without a backing file becomes
    /// unallocated, otherwise a newly allocated (plain) or the preallocated cluster is zeroed and becomes plain data.
    /// table is reloaded from the cache where allocations may have evicted it.
    /// </summary>
    private void ExpandZeroCluster(ref byte[] table, long l2Offset, int j, ulong l2Refcount, bool active, ref bool dirty)
    {
        ulong entry = GetEntry(table, j);
        var type = new L2Entry(entry).Type;
        if (type is not (ClusterType.ZeroPlain or ClusterType.ZeroAlloc))
        {
            return;
        }
        long offset = (long)(entry & L2Entry.OffsetMask);
        bool plain = type == ClusterType.ZeroPlain;
        if (plain)
        {
            if (Backing is null)
            {
                SetEntry(table, j, 0);
                MarkExpanded(active, l2Offset, ref dirty);
                return;
            }
            offset = AllocClusters(_clusterSize);
            if (l2Refcount > 1)
            {
                try
                {
                    UpdateRefcount(offset, _clusterSize, l2Refcount - 1, false, DiscardType.Other);
                }
                catch (Exception e) when (e is BlockIOException or RetryAllocation)
                {
                    FreeClusters(offset, _clusterSize, DiscardType.Other);
                    throw;
                }
            }
            if (active)
            {
                table = _l2Cache.Get(l2Offset);
            }
        }
        if (OffsetIntoCluster(offset) != 0)
        {
            SignalCorruption(true, -1, -1,
                $"Cluster allocation offset {Hex(offset)} unaligned (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(j)})");
            if (plain)
            {
                FreeClusters(offset, _clusterSize, DiscardType.Always);
            }
            throw new BlockIOException(Errno.EIO);
        }
        try
        {
            PreWriteOverlapCheck(Overlap.OverlapTypes.None, offset, _clusterSize);
            _file.WriteZeroes(offset, _clusterSize);
        }
        catch (BlockIOException)
        {
            if (plain)
            {
                FreeClusters(offset, _clusterSize, DiscardType.Always);
            }
            throw;
        }
        if (active)
        {
            table = _l2Cache.Get(l2Offset);
        }
        SetEntry(table, j, l2Refcount == 1 ? (ulong)offset | L2Entry.Copied : (ulong)offset);
        MarkExpanded(active, l2Offset, ref dirty);
    }

    private void MarkExpanded(bool active, long l2Offset, ref bool dirty)
    {
        dirty = true;
        if (active)
        {
            _l2Cache.MarkDirty(l2Offset);
        }
    }
}
