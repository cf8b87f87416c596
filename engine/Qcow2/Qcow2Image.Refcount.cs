using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Why clusters are freed; decides whether the freed range is discarded in the file (QEMU's qcow2_discard_type).</summary>
    private enum DiscardType { Never, Always, Request, Snapshot, Other }

    /// <summary>A refcount block was allocated where the caller may have meant to put its data: search again (QEMU's -EAGAIN).</summary>
    private sealed class RetryAllocation() : Exception(ErrnoText.Of(Errno.EAGAIN))
    {
    }

    private bool DiscardPassthrough(DiscardType t) => t switch
    {
        DiscardType.Always => true,
        DiscardType.Request => true,
        DiscardType.Snapshot => true,
        _ => false,
    };

    private void UpdateMaxRefcountTableIndex()
    {
        long i = _refcountTableSize - 1;
        while (i > 0 && (_refcountTable[i] & RefcountTableEntryOffsetMask) == 0)
        {
            i--;
        }
        _maxRefcountTableIndex = Math.Max(i, 0);
    }

    /// <summary>Bits 9..63 of a refcount table entry: the refcount block offset.</summary>
    private const ulong RefcountTableEntryOffsetMask = RefcountTableEntry.OffsetMask;

    /// <summary>The refcount of a cluster (0 when its block is not allocated).</summary>
    private ulong GetRefcount(long clusterIndex)
    {
        long tableIndex = clusterIndex >> _refcountBlockBits;
        if (tableIndex >= _refcountTableSize)
        {
            return 0;
        }
        long blockOffset = (long)(_refcountTable[tableIndex] & RefcountTableEntryOffsetMask);
        if (blockOffset == 0)
        {
            return 0;
        }
        if (OffsetIntoCluster(blockOffset) != 0)
        {
            SignalCorruption(true, -1, -1, $"Refblock offset {Hex(blockOffset)} unaligned (reftable index: {Hex(tableIndex)})");
            throw new BlockIOException(Errno.EIO);
        }
        var block = _refblockCache.Get(blockOffset);
        return RefcountBlock.Get(block, clusterIndex & (_refcountBlockSize - 1), _refcountOrder);
    }

    private bool InSameRefcountBlock(long a, long b) =>
        a >> (_clusterBits + _refcountBlockBits) == b >> (_clusterBits + _refcountBlockBits);

    /// <summary>Adds or subtracts addend from the refcounts of every cluster in [offset, offset+length) (update_refcount).</summary>
    private void UpdateRefcount(long offset, long length, ulong addend, bool decrease, DiscardType type)
    {
        if (length < 0)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        if (length == 0)
        {
            return;
        }
        if (decrease)
        {
            _refblockCache.SetDependency(_l2Cache);
        }
        long start = StartOfCluster(offset);
        long last = StartOfCluster(offset + length - 1);
        long oldTableIndex = -1;
        long blockOffset = 0;
        long clusterOffset = start;
        try
        {
            for (; clusterOffset <= last; clusterOffset += _clusterSize)
            {
                long clusterIndex = clusterOffset >> _clusterBits;
                long tableIndex = clusterIndex >> _refcountBlockBits;
                if (tableIndex != oldTableIndex)
                {
                    try
                    {
                        blockOffset = AllocRefcountBlock(clusterIndex);
                    }
                    catch (RetryAllocation)
                    {
                        if (_freeClusterIndex > (start >> _clusterBits))
                        {
                            _freeClusterIndex = start >> _clusterBits;
                        }
                        throw;
                    }
                }
                oldTableIndex = tableIndex;
                var block = _refblockCache.Get(blockOffset);
                _refblockCache.MarkDirty(blockOffset);
                long blockIndex = clusterIndex & (_refcountBlockSize - 1);
                ulong refcount = RefcountBlock.Get(block, blockIndex, _refcountOrder);
                if (decrease ? refcount - addend > refcount : refcount + addend < refcount || refcount + addend > _refcountMax)
                {
                    throw new BlockIOException(Errno.EINVAL);
                }
                refcount = decrease ? refcount - addend : refcount + addend;
                if (refcount == 0 && clusterIndex < _freeClusterIndex)
                {
                    _freeClusterIndex = clusterIndex;
                }
                RefcountBlock.Set(block, blockIndex, _refcountOrder, refcount);
                if (refcount == 0)
                {
                    if (_freeByteOffset != 0 && StartOfCluster(_freeByteOffset) == clusterOffset)
                    {
                        _freeByteClusterFreed = true;
                    }
                    if (_refblockCache.Contains(offset))
                    {
                        _refblockCache.Discard(offset);
                        oldTableIndex = -1;
                    }
                    if (_l2Cache.Contains(offset))
                    {
                        _l2Cache.Discard(offset);
                    }
                    if (DiscardPassthrough(type))
                    {
                        QueueDiscard(clusterOffset, _clusterSize);
                    }
                }
            }
        }
        catch (Exception e) when (e is BlockIOException or RetryAllocation)
        {
            if (!_cacheDiscards)
            {
                ProcessDiscards(false);
            }
            if (clusterOffset > offset)
            {
                try
                {
                    UpdateRefcount(offset, clusterOffset - offset, addend, !decrease, DiscardType.Never);
                }
                catch (Exception e2) when (e2 is BlockIOException or RetryAllocation)
                {
                    // QEMU ignores failures of the rollback.
                }
            }
            throw;
        }
        if (!_cacheDiscards)
        {
            ProcessDiscards(true);
        }
    }

    /// <summary>Freed ranges waiting to be discarded, adjacent ones merged (QEMU's s->discards).</summary>
    private readonly List<(long Offset, long Length)> _discards = [];

    /// <summary>s->cache_discards: the queued discards wait for the end of a snapshot refcount update.</summary>
    private bool _cacheDiscards;

    /// <summary>update_refcount_discard: queues a freed range, merged with a queued range it touches, then merges queued
    /// ranges that became adjacent.</summary>
    private void QueueDiscard(long offset, long length)
    {
        int found = -1;
        for (int i = 0; i < _discards.Count && found < 0; i++)
        {
            var d = _discards[i];
            long start = Math.Min(offset, d.Offset), end = Math.Max(offset + length, d.Offset + d.Length);
            if (end - start <= length + d.Length)
            {
                _discards[i] = (start, end - start);
                found = i;
            }
        }
        if (found < 0)
        {
            _discards.Add((offset, length));
            return;
        }
        var m = _discards[found];
        for (int i = _discards.Count - 1; i >= 0; i--)
        {
            var p = _discards[i];
            if (i == found || p.Offset > m.Offset + m.Length || m.Offset > p.Offset + p.Length)
            {
                continue;
            }
            m = (Math.Min(m.Offset, p.Offset), m.Length + p.Length);
            _discards[found] = m;
            _discards.RemoveAt(i);
            if (i < found)
            {
                found--;
            }
        }
    }

    /// <summary>Runs work with s->cache_discards set (qcow2_cluster_discard, qcow2_subcluster_zeroize): the clusters it
    /// frees are discarded together at its end, merged where adjacent, or not at all when it fails.</summary>
    private void WithCachedDiscards(Action work)
    {
        _cacheDiscards = true;
        bool ok = false;
        try
        {
            work();
            ok = true;
        }
        finally
        {
            _cacheDiscards = false;
            ProcessDiscards(ok);
        }
    }

    /// <summary>qcow2_process_discards: passes the queued ranges down in order when ok, else drops them.</summary>
    private void ProcessDiscards(bool ok)
    {
        var queued = _discards.ToArray();
        _discards.Clear();
        foreach (var (offset, length) in ok ? queued : [])
        {
            DiscardIgnoringErrors(offset, length);
        }
    }

    /// <summary>Passes a freed range down as a discard; discards are optional and their failures ignored (qcow2_process_discards).</summary>
    private void DiscardIgnoringErrors(long offset, long length)
    {
        try
        {
            _file.Discard(offset, length);
        }
        catch (BlockIOException)
        {
        }
    }

    /// <summary>Finds size bytes of contiguous free clusters from the free cluster index, without taking them (alloc_clusters_noref).</summary>
    private long AllocClustersNoref(long size, long max)
    {
        long nbClusters = SizeToClusters(size);
    retry:
        for (long i = 0; i < nbClusters; i++)
        {
            long next = _freeClusterIndex++;
            if (GetRefcount(next) != 0)
            {
                goto retry;
            }
        }
        if (_freeClusterIndex > 0 && _freeClusterIndex - 1 > (max >> _clusterBits))
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        return (_freeClusterIndex - nbClusters) << _clusterBits;
    }

    /// <summary>Allocates size bytes of contiguous clusters (qcow2_alloc_clusters).</summary>
    private long AllocClusters(long size)
    {
        _file.DebugEvent("cluster_alloc");
        while (true)
        {
            long offset = AllocClustersNoref(size, MaxClusterOffset);
            try
            {
                UpdateRefcount(offset, size, 1, false, DiscardType.Never);
                return offset;
            }
            catch (RetryAllocation)
            {
            }
        }
    }

    /// <summary>Allocates up to nbClusters free clusters starting exactly at offset; returns how many (qcow2_alloc_clusters_at).</summary>
    private long AllocClustersAt(long offset, long nbClusters)
    {
        if (nbClusters == 0)
        {
            return 0;
        }
        while (true)
        {
            long clusterIndex = offset >> _clusterBits;
            long i;
            for (i = 0; i < nbClusters; i++)
            {
                if (GetRefcount(clusterIndex++) != 0)
                {
                    break;
                }
            }
            try
            {
                UpdateRefcount(offset, i << _clusterBits, 1, false, DiscardType.Never);
                return i;
            }
            catch (RetryAllocation)
            {
            }
        }
    }

    /// <summary>Allocates size bytes for compressed data, packing them after the previous compressed cluster (qcow2_alloc_bytes).</summary>
    private long AllocBytes(int size)
    {
        _file.DebugEvent("cluster_alloc_bytes");
        long offset = _freeByteOffset;
        if (offset != 0 && GetRefcount(offset >> _clusterBits) == _refcountMax)
        {
            offset = 0;
        }
        // QEMU keeps packing compressed data after the previous compressed cluster even when that cluster was freed and
        // has since been allocated again (as data, or as metadata); we start afresh then. While it is still free we place
        // the data there as QEMU does.
        if (offset != 0 && _freeByteClusterFreed && GetRefcount(offset >> _clusterBits) != 0)
        {
            offset = 0;
        }
        long freeInCluster = _clusterSize - OffsetIntoCluster(offset);
        while (true)
        {
            if (offset == 0 || freeInCluster < size)
            {
                long newCluster = AllocClustersNoref(_clusterSize, Math.Min(CompressedOffsetMask, MaxClusterOffset));
                if (newCluster == 0)
                {
                    SignalCorruption(true, -1, -1, "Preventing invalid allocation of compressed cluster at offset 0");
                    throw new BlockIOException(Errno.EIO);
                }
                if (offset == 0 || RoundUp(offset, _clusterSize) != newCluster)
                {
                    offset = newCluster;
                    freeInCluster = _clusterSize;
                }
                else
                {
                    freeInCluster += _clusterSize;
                }
            }
            try
            {
                UpdateRefcount(offset, size, 1, false, DiscardType.Never);
                break;
            }
            catch (RetryAllocation)
            {
                offset = 0;
            }
        }
        _l2Cache.SetDependency(_refblockCache);
        _freeByteOffset = offset + size;
        _freeByteClusterFreed = false;
        if (OffsetIntoCluster(_freeByteOffset) == 0)
        {
            _freeByteOffset = 0;
        }
        return offset;
    }

    private long CompressedOffsetMask => (1L << L2Entry.CompressedShift(_clusterBits)) - 1;

    private static long RoundUp(long v, long align) => (v + align - 1) / align * align;

    /// <summary>Decrements the refcounts of a range (qcow2_free_clusters); failures are reported, not thrown.</summary>
    private void FreeClusters(long offset, long size, DiscardType type)
    {
        _file.DebugEvent("cluster_free");
        try
        {
            UpdateRefcount(offset, size, 1, true, type);
        }
        catch (Exception e) when (e is BlockIOException or RetryAllocation)
        {
            _options.Diagnostics.WriteLine($"qcow2_free_clusters failed: {e.Message}");
        }
    }

    /// <summary>Frees whatever an L2 entry owns (qcow2_free_any_cluster).</summary>
    private void FreeAnyCluster(ulong l2Entry, DiscardType type)
    {
        var e = new L2Entry(l2Entry);
        switch (e.Type)
        {
            case ClusterType.Compressed:
                FreeClusters(e.CompressedOffset(_clusterBits), e.CompressedSize(_clusterBits), type);
                break;
            case ClusterType.Normal:
            case ClusterType.ZeroAlloc:
                if (OffsetIntoCluster(e.HostOffset) != 0)
                {
                    SignalCorruption(false, -1, -1, $"Cannot free unaligned cluster {Hex(e.HostOffset)}");
                }
                else
                {
                    FreeClusters(e.HostOffset, _clusterSize, type);
                }
                break;
        }
    }

    /// <summary>C's %#x / %#llx: "0x" and lower-case hex, or "0" for zero.</summary>
    private static string Hex(long v) => v == 0 ? "0" : "0x" + v.ToString("x");
}
