using System.Buffers.Binary;
using Qcow2.Format;

namespace Qcow2;

/// <summary>Refcount blocks and table growth: alloc_refcount_block and qcow2_refcount_area, with their failure paths.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>The refcount block covering clusterIndex, allocating it (and growing the table) first if needed (alloc_refcount_block).</summary>
    private long AllocRefcountBlock(long clusterIndex)
    {
        _file.DebugEvent("refblock_alloc");
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
                _file.DebugEvent("refblock_load");
                return blockOffset;
            }
        }

        _l2Cache.Flush();
        long newBlock = AllocClustersNoref(_clusterSize, long.MaxValue);
        if (newBlock == 0)
        {
            SignalCorruption(true, -1, -1, "Preventing invalid allocation of refcount block at offset 0");
            throw new BlockIOException(Errno.EIO);
        }

        // As QEMU: a new block whose write or hookup fails stays in the cache (dirty when its own write failed), so
        // the close-time flush tries it again and reports the failure ('Failed to flush the refcount block cache').
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
        _file.DebugEvent("refblock_alloc_write");
        _refblockCache.MarkDirty(newBlock);
        _refblockCache.Flush();

        if (tableIndex < _refcountTableSize)
        {
            var data = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)newBlock);
            _file.DebugEvent("refblock_alloc_hookup");
            _file.Write(_refcountTableOffset + tableIndex * 8, data);
        }

        if (tableIndex < _refcountTableSize)
        {
            _refcountTable[tableIndex] = (ulong)newBlock;
            _maxRefcountTableIndex = Math.Max(_maxRefcountTableIndex, tableIndex);
            _tracker.Enter(newBlock, _clusterSize, Overlap.OverlapTypes.RefcountBlock);
            throw new RetryAllocation();
        }

        _file.DebugEvent("reftable_grow");
        long blocksUsed = DivRoundUp(Math.Max(clusterIndex + 1, (newBlock >> _clusterBits) + 1), _refcountBlockSize);
        long metaOffset = blocksUsed * _refcountBlockSize * _clusterSize;
        RefcountArea(metaOffset, 0, false, (int)tableIndex, newBlock);
        _file.DebugEvent("refblock_load");
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
                _file.DebugEvent("refblock_load");
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
        try
        {
            _file.DebugEvent("refblock_alloc_write_blocks");
            _refblockCache.Flush();
            byte[] raw = TableBytes(newTable, checked((int)tableSize));
            _file.DebugEvent("refblock_alloc_write_table");
            _file.Write(tableOffset, raw);
            var hdr = new byte[12];
            BinaryPrimitives.WriteUInt64BigEndian(hdr, (ulong)tableOffset);
            BinaryPrimitives.WriteUInt32BigEndian(hdr.AsSpan(8), (uint)tableClusters);
            _file.DebugEvent("refblock_alloc_switch_table");
            _file.Write(Header.RefcountTableOffsetOffset, hdr);
        }
        catch (BlockIOException)
        {
            // The old table stays active (qcow2_refcount_area's fail path); the blocks only the new table knows are
            // dropped from the cache so that no stale copy is ever written over what their clusters hold later.
            DiscardBlocksNotIn(_refcountTable, newTable);
            throw;
        }
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

    private void DiscardBlocksNotIn(ulong[] active, ulong[] candidate)
    {
        var known = new HashSet<ulong>(active.Select(e => e & RefcountTableEntryOffsetMask));
        foreach (var e in candidate)
        {
            ulong block = e & RefcountTableEntryOffsetMask;
            if (block != 0 && !known.Contains(block))
            {
                _refblockCache.Discard((long)block);
            }
        }
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
}
