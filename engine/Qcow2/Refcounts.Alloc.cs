using Qcow2.Format;

namespace Qcow2;

internal sealed partial class Refcounts
{
    /// <summary>Finds size bytes of contiguous free clusters from the free cluster index, without taking them (alloc_clusters_noref).</summary>
    private long AllocNoref(long size, long max)
    {
        // A freed cluster still queued for discard must not be handed out: its discard would later punch the new data.
        if (CacheDiscards)
        {
            ProcessDiscards(true);
        }
        long nbClusters = SizeToClusters(size);
    retry:
        for (long i = 0; i < nbClusters; i++)
        {
            long next = _freeClusterIndex++;
            if (Get(next) != 0)
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
    public long Alloc(long size)
    {
        _host.File.DebugEvent("cluster_alloc");
        while (true)
        {
            long offset = AllocNoref(size, MaxClusterOffset);
            try
            {
                Update(offset, size, 1, false, DiscardType.Never);
                return offset;
            }
            catch (RetryAllocation)
            {
            }
        }
    }

    /// <summary>Allocates up to nbClusters free clusters starting exactly at offset; returns how many (qcow2_alloc_clusters_at).</summary>
    public long AllocAt(long offset, long nbClusters)
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
                if (Get(clusterIndex++) != 0)
                {
                    break;
                }
            }
            try
            {
                Update(offset, i << _clusterBits, 1, false, DiscardType.Never);
                return i;
            }
            catch (RetryAllocation)
            {
            }
        }
    }

    /// <summary>Allocates size bytes for compressed data, packing them after the previous compressed cluster (qcow2_alloc_bytes).</summary>
    public long AllocBytes(int size)
    {
        _host.File.DebugEvent("cluster_alloc_bytes");
        long offset = _freeByteOffset;
        if (offset != 0 && Get(offset >> _clusterBits) == Max)
        {
            offset = 0;
        }
        // QEMU keeps packing compressed data after the previous compressed cluster even when that cluster was freed and
        // has since been allocated again (as data, or as metadata); we start afresh then. While it is still free we place
        // the data there as QEMU does.
        if (offset != 0 && _freeByteClusterFreed && Get(offset >> _clusterBits) != 0)
        {
            offset = 0;
        }
        long freeInCluster = _clusterSize - OffsetIntoCluster(offset);
        while (true)
        {
            if (offset == 0 || freeInCluster < size)
            {
                long newCluster = AllocNoref(_clusterSize, Math.Min(CompressedOffsetMask, MaxClusterOffset));
                if (newCluster == 0)
                {
                    _host.SignalCorruption("Preventing invalid allocation of compressed cluster at offset 0");
                    throw new BlockIOException(Errno.EIO);
                }
                if (offset == 0 || Qcow2Image.RoundUp(offset, _clusterSize) != newCluster)
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
                Update(offset, size, 1, false, DiscardType.Never);
                break;
            }
            catch (RetryAllocation)
            {
                offset = 0;
            }
        }
        _host.L2Cache.SetDependency(Cache);
        _freeByteOffset = offset + size;
        _freeByteClusterFreed = false;
        if (OffsetIntoCluster(_freeByteOffset) == 0)
        {
            _freeByteOffset = 0;
        }
        return offset;
    }

    private long CompressedOffsetMask => (1L << L2Entry.CompressedShift(_clusterBits)) - 1;

    /// <summary>Decrements the refcounts of a range (qcow2_free_clusters); failures are reported, not thrown.</summary>
    public void Free(long offset, long size, DiscardType type)
    {
        _host.File.DebugEvent("cluster_free");
        try
        {
            Update(offset, size, 1, true, type);
        }
        catch (Exception e) when (e is BlockIOException or RetryAllocation)
        {
            _host.Diagnostics.WriteLine($"qcow2_free_clusters failed: {e.Message}");
        }
    }

    /// <summary>Freed ranges waiting to be discarded, adjacent ones merged (QEMU's s->discards).</summary>
    private readonly List<(long Offset, long Length)> _discards = [];

    /// <summary>update_refcount_discard: queues a freed range, merged with a queued range it touches, then merges queued
    /// ranges that became adjacent.</summary>
    public void QueueDiscard(long offset, long length)
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
    public void WithCachedDiscards(Action work)
    {
        CacheDiscards = true;
        bool ok = false;
        try
        {
            work();
            ok = true;
        }
        finally
        {
            CacheDiscards = false;
            ProcessDiscards(ok);
        }
    }

    /// <summary>qcow2_process_discards: passes the queued ranges down in order when ok, else drops them.</summary>
    public void ProcessDiscards(bool ok)
    {
        if (_discards.Count == 0)
        {
            // The common case on the allocation path (AllocNoref asks before every allocation while discards are cached).
            return;
        }
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
            _host.File.Discard(offset, length);
        }
        catch (BlockIOException)
        {
        }
    }
}
