using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Maps a guest range to its first run of like clusters (qcow2_get_host_offset); bytes is cut to that run.</summary>
    private ClusterType GetHostOffset(long offset, ref long bytes, out long hostOffset, out ulong rawEntry)
    {
        hostOffset = 0;
        rawEntry = 0;
        long inCluster = OffsetIntoCluster(offset);
        long needed = bytes + inCluster;
        long available = (long)(_l2Size - L2Index(offset)) << _clusterBits;
        needed = Math.Min(needed, available);
        int l1Index = L1Index(offset);
        if (l1Index >= _l1Size || (_l1Table[l1Index] & L1Entry.OffsetMask) == 0)
        {
            bytes = Math.Min(available, needed) - inCluster;
            return ClusterType.Unallocated;
        }
        long l2Offset = (long)(_l1Table[l1Index] & L1Entry.OffsetMask);
        if (OffsetIntoCluster(l2Offset) != 0)
        {
            SignalCorruption(true, -1, -1, $"L2 table offset {Hex(l2Offset)} unaligned (L1 index: {Hex(l1Index)})");
            throw new BlockIOException(Errno.EIO);
        }
        var table = _l2Cache.Get(l2Offset);
        if (ExtendedL2)
        {
            return GetHostOffsetExtended(table, l2Offset, offset, ref bytes, needed, out hostOffset, out rawEntry);
        }
        int l2Index = L2Index(offset);
        ulong entry = GetEntry(table, l2Index);
        rawEntry = entry;
        var type = TypeOf(entry);
        if (_header.Version < 3 && type is ClusterType.ZeroPlain or ClusterType.ZeroAlloc)
        {
            SignalCorruption(true, -1, -1, $"Zero cluster entry found in pre-v3 image (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(l2Index)})");
            throw new BlockIOException(Errno.EIO);
        }
        if (type is ClusterType.Normal or ClusterType.ZeroAlloc)
        {
            long hostCluster = (long)(entry & L2Entry.OffsetMask);
            hostOffset = hostCluster + inCluster;
            if (OffsetIntoCluster(hostCluster) != 0)
            {
                SignalCorruption(true, -1, -1, $"Cluster allocation offset {Hex(hostCluster)} unaligned (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(l2Index)})");
                throw new BlockIOException(Errno.EIO);
            }
        }
        int nbClusters = (int)SizeToClusters(needed);
        int count = 1;
        if (type != ClusterType.Compressed)
        {
            long expected = (long)(entry & L2Entry.OffsetMask);
            bool checkOffset = type is ClusterType.Normal or ClusterType.ZeroAlloc;
            for (count = 1; count < nbClusters; count++)
            {
                ulong e = GetEntry(table, l2Index + count);
                if (TypeOf(e) != type)
                {
                    break;
                }
                if (checkOffset)
                {
                    expected += _clusterSize;
                    if ((long)(e & L2Entry.OffsetMask) != expected)
                    {
                        break;
                    }
                }
            }
        }
        bytes = Math.Min((long)count << _clusterBits, needed) - inCluster;
        return type;
    }

    private void CheckRequest(long offset, long bytes)
    {
        if (offset < 0 || bytes < 0 || offset > Size || bytes > Size - offset)
        {
            throw new BlockIOException(Errno.EIO);
        }
    }

    /// <inheritdoc/>
    public override void Read(long offset, Span<byte> buffer)
    {
        CheckUsable();
        CheckRequest(offset, buffer.Length);
        if (NeedsSectorAlignment(offset, buffer.Length))
        {
            ReadAligned(offset, buffer);
            return;
        }
        ReadGuest(offset, buffer);
    }

    private void ReadGuest(long offset, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            long cur = offset + done;
            long bytes = buffer.Length - done;
            var type = GetHostOffset(cur, ref bytes, out long host, out ulong entry);
            var dst = buffer.Slice(done, (int)bytes);
            switch (type)
            {
                case ClusterType.Unallocated:
                    if (Backing is not null)
                    {
                        _file.DebugEvent("read_backing_aio");
                    }
                    ReadBacking(cur, dst);
                    break;
                case ClusterType.ZeroPlain:
                case ClusterType.ZeroAlloc:
                    dst.Clear();
                    break;
                case ClusterType.Compressed:
                    ReadCompressed(new L2Entry(entry), OffsetIntoCluster(cur), dst);
                    break;
                default:
                    _file.DebugEvent("read_aio");
                    DataStorage.Read(host, dst);
                    DecryptData(cur, host, dst);
                    break;
            }
            done += (int)bytes;
        }
    }

    private void ReadBacking(long offset, Span<byte> dst)
    {
        dst.Clear();
        if (Backing is null || offset >= Backing.Size)
        {
            return;
        }
        int n = (int)Math.Min(dst.Length, Backing.Size - offset);
        Backing.Read(offset, dst[..n]);
    }

    /// <inheritdoc/>
    public override void Write(long offset, ReadOnlySpan<byte> data)
    {
        _guestWriteGeneration++;
        CheckWritable();
        CheckRequest(offset, data.Length);
        MarkBitmapsDirty(offset, data.Length);
        if (NeedsSectorAlignment(offset, data.Length))
        {
            WriteAligned(offset, data);
        }
        else
        {
            WriteGuest(offset, data);
        }
        FlushIfWriteThrough();
    }

    /// <summary>
    /// qcow2_co_pwritev_part: maps or allocates host clusters run by run and writes the data. As in QEMU, where each
    /// run's data write and L2 update is a task that needs the lock the next run's allocation holds, a run is linked
    /// into its L2 table after the next run was allocated (or failed to be), and before the request returns.
    /// </summary>
    private void WriteGuest(long offset, ReadOnlySpan<byte> data)
    {
        int done = 0;
        List<L2Meta>? pending = null;
        try
        {
            while (done < data.Length)
            {
                long bytes = data.Length - done;
                var metas = new List<L2Meta>();
                long host;
                try
                {
                    host = AllocHostOffset(offset + done, ref bytes, metas);
                    DataPreWriteOverlapCheck(host, bytes);
                    if (pending is not null)
                    {
                        var previous = pending;
                        pending = null;
                        LinkAll(previous);
                    }
                    HandleAllocSpace(metas);
                    _file.DebugEvent("write_aio");
                    DataStorage.Write(host, EncryptData(offset + done, host, data.Slice(done, (int)bytes)));
                }
                catch (BlockIOException)
                {
                    AbortAllocations(metas);
                    throw;
                }
                pending = metas;
                done += (int)bytes;
            }
        }
        catch (BlockIOException)
        {
            if (pending is not null)
            {
                // The tasks still running finish before the request fails (aio_task_pool_wait_all).
                try
                {
                    LinkAll(pending);
                }
                catch (BlockIOException)
                {
                }
            }
            throw;
        }
        if (pending is not null)
        {
            LinkAll(pending);
        }
    }

    /// <summary>Links every run of a written chunk; when one fails, it and the rest are given back (qcow2_handle_l2meta).</summary>
    private void LinkAll(List<L2Meta> metas)
    {
        int linked = 0;
        try
        {
            for (; linked < metas.Count; linked++)
            {
                LinkL2(metas[linked]);
            }
        }
        catch (BlockIOException)
        {
            AbortAllocations(metas.Skip(linked));
            throw;
        }
    }

    /// <summary>Write requests to this node (bdrv_co_write_req_finish's write_gen) and the count at its last successful flush.</summary>
    private long _guestWriteGeneration, _guestFlushedGeneration;

    /// <summary>
    /// A failed write request gives back the clusters it allocated but did not link (qcow2_handle_l2meta with
    /// qcow2_alloc_cluster_abort), so that they neither leak nor stay half-used.
    /// </summary>
    private void AbortAllocations(IEnumerable<L2Meta> metas)
    {
        if (_unusable)
        {
            return;
        }
        foreach (var m in metas)
        {
            if (!m.KeepOldClusters && !HasDataFile)
            {
                FreeClusters(m.AllocOffset, (long)m.NbClusters << _clusterBits, DiscardType.Never);
            }
        }
    }

    /// <summary>With a writethrough cache mode the block layer flushes after every write request (blk_co_pwritev_part).</summary>
    private void FlushIfWriteThrough()
    {
        if (_options.WriteThrough)
        {
            Flush();
        }
    }

    /// <summary>Where VM state starts: after the last L2 table's worth of guest space (qcow2_vm_state_offset).</summary>
    private long VmStateOffset => SizeToL1(Size) << (_clusterBits + _l2Bits);

    /// <inheritdoc/>
    public override void ReadVmState(long position, Span<byte> buffer)
    {
        CheckUsable();
        _file.DebugEvent("vmstate_load");
        ReadGuest(checked(VmStateOffset + position), buffer);
    }

    /// <inheritdoc/>
    public override void WriteVmState(long position, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        _file.DebugEvent("vmstate_save");
        WriteGuest(checked(VmStateOffset + position), data);
        // blk_save_vmstate flushes after a complete VM state write when the cache mode is writethrough.
        FlushIfWriteThrough();
    }

    /// <summary>Zeroes whole new clusters instead of copying COW regions that read as zeros (handle_alloc_space).</summary>
    private void HandleAllocSpace(List<L2Meta> metas)
    {
        if (Encrypted)
        {
            // Zeroes on disk would not decrypt to zeros: QEMU 7.2 copies (encrypts) the COW regions instead.
            return;
        }
        foreach (var m in metas)
        {
            if (m.CowStartBytes == 0 && m.CowEndBytes == 0)
            {
                continue;
            }
            // QEMU 7.2's is_zero_cow asks whether both COW regions read as zeros (bdrv_co_is_zero_fast).
            if (!IsZero(m.GuestOffset + m.CowStartOffset, m.CowStartBytes)
                || !IsZero(m.GuestOffset + m.CowEndOffset, m.CowEndBytes))
            {
                continue;
            }
            long start = m.AllocOffset + m.CowStartOffset;
            long n = m.CowEndOffset + m.CowEndBytes - m.CowStartOffset;
            DataPreWriteOverlapCheck(start, n);
            _file.DebugEvent("cluster_alloc_space");
            DataStorage.WriteZeroes(start, n);
            m.SkipCow = true;
        }
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // bdrv_co_flush does nothing for a node without a driver (after a fatal corruption) or a read-only one.
        if (_unusable || _readOnly)
        {
            return;
        }
        FlushCaches();
    }

    /// <summary>
    /// bdrv_flush on the qcow2 node: the L2 cache, then the refcount cache unless refcounts may be stale (dirty
    /// image, qcow2_need_accurate_refcounts), then the file.
    /// </summary>
    private void FlushCaches()
    {
        _file.DebugEvent("flush_to_os");
        // qcow2_write_caches: the tables are written; the file is flushed once, below.
        _l2Cache.Write();
        if (!Dirty)
        {
            _refcounts.Cache.Write();
        }
        // bdrv_co_flush fires flush_to_disk only when the node was written to since its last successful flush.
        long generation = _guestWriteGeneration;
        if (generation != _guestFlushedGeneration)
        {
            _file.DebugEvent("flush_to_disk");
        }
        _file.Flush();
        _guestFlushedGeneration = generation;
    }

    /// <inheritdoc/>
    public override BlockStatus GetStatus(long offset, long length)
    {
        CheckUsable();
        long bytes = Math.Min(length, Size - offset);
        var type = GetHostOffset(offset, ref bytes, out long host, out _);
        bool allocated = type != ClusterType.Unallocated;
        bool zero = type is ClusterType.ZeroPlain or ClusterType.ZeroAlloc || (type == ClusterType.Unallocated && Backing is null);
        bool data = type is ClusterType.Normal or ClusterType.Compressed;
        // An unallocated subcluster of an allocated cluster still has a host offset (BDRV_BLOCK_OFFSET_VALID); an
        // encrypted cluster's host offset is not valid as plain data (qcow2_co_block_status).
        long? hostOffset = (type is ClusterType.Normal or ClusterType.ZeroAlloc || (type == ClusterType.Unallocated && host != 0)) && !Encrypted
            ? host : null;
        return new BlockStatus(offset, bytes, allocated, data, zero, 0, hostOffset, type == ClusterType.Compressed, FileName);
    }
}
