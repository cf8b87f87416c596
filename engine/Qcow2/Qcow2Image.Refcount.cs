using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Why clusters are freed; decides whether the freed range is discarded in the file (QEMU's qcow2_discard_type).</summary>
    private enum DiscardType { Never, Always, Request, Snapshot, Other }

    /// <summary>A refcount block was allocated where the caller may have meant to put its data: search again (QEMU's -EAGAIN).</summary>
    private sealed class RetryAllocation : Exception
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

    /// <summary>The refcount block covering clusterIndex, allocating it (and growing the table) first if needed (alloc_refcount_block).</summary>
    private long AllocRefcountBlock(long clusterIndex)
    {
        long tableIndex = clusterIndex >> _refcountBlockBits;
        if (tableIndex < _refcountTableSize)
        {
            long blockOffset = (long)(_refcountTable[tableIndex] & RefcountTableEntryOffsetMask);
            if (blockOffset != 0)
            {
                if (OffsetIntoCluster(blockOffset) != 0)
                {
                    SignalCorruption(true, -1, -1, $"Refblock offset {Hex(blockOffset)} unaligned (reftable index: {Hex(tableIndex)})");
                    throw new BlockIOException(Errno.EIO);
                }
                return blockOffset;
            }
        }

        _file.DebugEvent("refblock_alloc");
        _l2Cache.Flush();
        long newBlock = AllocClustersNoref(_clusterSize, long.MaxValue);
        if (newBlock == 0)
        {
            SignalCorruption(true, -1, -1, "Preventing invalid allocation of refcount block at offset 0");
            throw new BlockIOException(Errno.EIO);
        }

        if (InSameRefcountBlock(newBlock, clusterIndex << _clusterBits))
        {
            var block = _refblockCache.GetEmpty(newBlock);
            RefcountBlock.Set(block, (newBlock >> _clusterBits) & (_refcountBlockSize - 1), _refcountOrder, 1);
        }
        else
        {
            UpdateRefcount(newBlock, _clusterSize, 1, false, DiscardType.Never);
            _refblockCache.Flush();
            _refblockCache.GetEmpty(newBlock);
        }
        _refblockCache.MarkDirty(newBlock);
        _refblockCache.Flush();

        if (tableIndex < _refcountTableSize)
        {
            var data = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)newBlock);
            _file.Write(_refcountTableOffset + tableIndex * 8, data);
            _refcountTable[tableIndex] = (ulong)newBlock;
            _maxRefcountTableIndex = Math.Max(_maxRefcountTableIndex, tableIndex);
            NoteRefcountBlockEntered(newBlock);
            throw new RetryAllocation();
        }

        long blocksUsed = DivRoundUp(Math.Max(clusterIndex + 1, (newBlock >> _clusterBits) + 1), _refcountBlockSize);
        long metaOffset = blocksUsed * _refcountBlockSize * _clusterSize;
        RefcountArea(metaOffset, 0, false, (int)tableIndex, newBlock);
        throw new RetryAllocation();
    }

    private static long DivRoundUp(long a, long b) => (a + b - 1) / b;

    /// <summary>
    /// Creates self-describing refcount structures at startOffset (the end of the file): a new refcount table
    /// and the refcount blocks covering it and additionalClusters beyond, then switches to the new table (qcow2_refcount_area).
    /// </summary>
    private long RefcountArea(long startOffset, long additionalClusters, bool exactSize, int newRefblockIndex, long newRefblockOffset)
    {
        long totalRefblockCount = RefcountMetadataSize(startOffset / _clusterSize + additionalClusters, !exactSize, out _);
        if (totalRefblockCount > MaxRefcountTableBytes)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        long areaReftableIndex = startOffset / _clusterSize / _refcountBlockSize;
        long tableSize = exactSize ? totalRefblockCount : totalRefblockCount + DivRoundUp(totalRefblockCount, 2);
        long perCluster = _clusterSize / 8;
        tableSize = DivRoundUp(tableSize, perCluster) * perCluster;
        long tableClusters = tableSize * 8 / _clusterSize;
        if (tableSize > MaxRefcountTableBytes)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        var newTable = new ulong[tableSize];
        if (tableSize > _maxRefcountTableIndex)
        {
            Array.Copy(_refcountTable, newTable, Math.Min(_refcountTable.Length, _maxRefcountTableIndex + 1));
        }
        else
        {
            Array.Copy(_refcountTable, newTable, tableSize);
        }
        if (newRefblockOffset != 0)
        {
            newTable[newRefblockIndex] = (ulong)newRefblockOffset;
        }
        long additionalRefblocks = 0;
        for (long i = areaReftableIndex; i < totalRefblockCount; i++)
        {
            if (newTable[i] == 0)
            {
                additionalRefblocks++;
            }
        }
        long tableOffset = startOffset + additionalRefblocks * _clusterSize;
        long endOffset = tableOffset + tableClusters * _clusterSize;

        long blockOffset = startOffset;
        for (long i = areaReftableIndex; i < totalRefblockCount; i++)
        {
            long thisBlock;
            byte[] data;
            if (newTable[i] != 0)
            {
                thisBlock = (long)newTable[i];
                data = _refblockCache.Get(thisBlock);
            }
            else
            {
                thisBlock = blockOffset;
                data = _refblockCache.GetEmpty(thisBlock);
                _refblockCache.MarkDirty(thisBlock);
                newTable[i] = (ulong)blockOffset;
                blockOffset += _clusterSize;
            }
            long firstCovered = i * _refcountBlockSize * _clusterSize;
            if (firstCovered < endOffset)
            {
                long j = firstCovered < startOffset ? (startOffset - firstCovered) / _clusterSize : 0;
                long endIndex = Math.Min((endOffset - firstCovered) / _clusterSize, _refcountBlockSize);
                for (; j < endIndex; j++)
                {
                    RefcountBlock.Set(data, j, _refcountOrder, 1);
                }
                _refblockCache.MarkDirty(thisBlock);
            }
        }
        _refblockCache.Flush();

        var raw = new byte[tableSize * 8];
        for (long i = 0; i < tableSize; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan((int)(i * 8)), newTable[i]);
        }
        _file.Write(tableOffset, raw);

        var hdr = new byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(hdr, (ulong)tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(hdr.AsSpan(8), (uint)tableClusters);
        _file.Write(Header.RefcountTableOffsetOffset, hdr);
        _header.RefcountTableOffset = (ulong)tableOffset;
        _header.RefcountTableClusters = (uint)tableClusters;

        long oldOffset = _refcountTableOffset, oldSize = _refcountTableSize;
        _refcountTable = newTable;
        _refcountTableSize = tableSize;
        _refcountTableOffset = tableOffset;
        UpdateMaxRefcountTableIndex();
        NoteRefcountTableMoved(oldOffset, oldSize * 8);
        FreeClusters(oldOffset, oldSize * 8, DiscardType.Other);
        return endOffset;
    }

    /// <summary>
    /// Refcount blocks needed to count clusters clusters plus the refcount structures themselves, found as the
    /// fixed point where no more blocks or table clusters are needed (qcow2_refcount_metadata_size); a generous
    /// increase leaves room for half as many table clusters again.
    /// </summary>
    private long RefcountMetadataSize(long clusters, bool generousIncrease, out long metaClusters)
    {
        long blocksPerTableCluster = _clusterSize / 8;
        long table = 0, blocks = 0, last, n = 0;
        do
        {
            last = n;
            blocks = DivRoundUp(clusters + table + blocks, _refcountBlockSize);
            table = DivRoundUp(blocks, blocksPerTableCluster);
            n = clusters + blocks + table;
            if (n == last && generousIncrease)
            {
                clusters += DivRoundUp(table, 2);
                n = 0;
                generousIncrease = false;
            }
        }
        while (n != last);
        metaClusters = blocks + table;
        return blocks;
    }

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
                        _file.Discard(clusterOffset, _clusterSize);
                    }
                }
            }
        }
        catch (Exception e) when (e is BlockIOException or RetryAllocation)
        {
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
