using System.Buffers.Binary;
using Qcow2.Format;

namespace Qcow2;

/// <summary>Refcount blocks and table growth: alloc_refcount_block and qcow2_refcount_area, with their failure paths.</summary>
internal sealed partial class Refcounts
{
    /// <summary>The refcount block covering clusterIndex, allocating it (and growing the table) first if needed (alloc_refcount_block).</summary>
    private long AllocBlock(long clusterIndex)
    {
        _host.File.DebugEvent("refblock_alloc");
        long tableIndex = clusterIndex >> BlockBits;
        if (tableIndex < TableSize)
        {
            long blockOffset = (long)(Table[tableIndex] & RefcountTableEntry.OffsetMask);
            if (blockOffset != 0)
            {
                if (OffsetIntoCluster(blockOffset) != 0)
                {
                    _host.SignalCorruption($"Refblock offset {Qcow2Image.Hex(blockOffset)} unaligned (reftable index: {Qcow2Image.Hex(tableIndex)})");
                    throw new BlockIOException(Errno.EIO);
                }
                _host.File.DebugEvent("refblock_load");
                return blockOffset;
            }
        }

        _host.L2Cache.Flush();
        long newBlock = AllocNoref(_clusterSize, long.MaxValue);
        if (newBlock == 0)
        {
            _host.SignalCorruption("Preventing invalid allocation of refcount block at offset 0");
            throw new BlockIOException(Errno.EIO);
        }

        // As QEMU: a new block whose write or hookup fails stays in the cache (dirty when its own write failed), so
        // the close-time flush tries it again and reports the failure ('Failed to flush the refcount block cache').
        if (InSameBlock(newBlock, clusterIndex << _clusterBits))
        {
            var block = Cache.GetEmpty(newBlock);
            RefcountBlock.Set(block, (newBlock >> _clusterBits) & (BlockSize - 1), Order, 1);
        }
        else
        {
            Update(newBlock, _clusterSize, 1, false, DiscardType.Never);
            Cache.Flush();
            Cache.GetEmpty(newBlock);
        }
        _host.File.DebugEvent("refblock_alloc_write");
        Cache.MarkDirty(newBlock);
        Cache.Flush();

        if (tableIndex < TableSize)
        {
            var data = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)newBlock);
            _host.File.DebugEvent("refblock_alloc_hookup");
            _host.File.Write(TableOffset + tableIndex * 8, data);
        }

        if (tableIndex < TableSize)
        {
            Table[tableIndex] = (ulong)newBlock;
            MaxTableIndex = Math.Max(MaxTableIndex, tableIndex);
            _host.NoteRefcountBlockEntered(newBlock);
            throw new RetryAllocation();
        }

        _host.File.DebugEvent("reftable_grow");
        long blocksUsed = Qcow2Image.DivRoundUp(Math.Max(clusterIndex + 1, (newBlock >> _clusterBits) + 1), BlockSize);
        long metaOffset = blocksUsed * BlockSize * _clusterSize;
        CreateArea(metaOffset, 0, false, (int)tableIndex, newBlock);
        _host.File.DebugEvent("refblock_load");
        throw new RetryAllocation();
    }

    /// <summary>
    /// Creates self-describing refcount structures at startOffset (the end of the file): a new refcount table
    /// and the refcount blocks covering it and additionalClusters beyond, then switches to the new table (qcow2_refcount_area).
    /// </summary>
    public long CreateArea(long startOffset, long additionalClusters, bool exactSize, int newRefblockIndex, long newRefblockOffset)
    {
        long totalRefblockCount = MetadataSize(startOffset / _clusterSize + additionalClusters, !exactSize, out _);
        if (totalRefblockCount > MaxRefcountTableBytes)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        long areaReftableIndex = startOffset / _clusterSize / BlockSize;
        long tableSize = exactSize ? totalRefblockCount : totalRefblockCount + Qcow2Image.DivRoundUp(totalRefblockCount, 2);
        long perCluster = _clusterSize / 8;
        tableSize = Qcow2Image.DivRoundUp(tableSize, perCluster) * perCluster;
        long tableClusters = tableSize * 8 / _clusterSize;
        if (tableSize > MaxRefcountTableBytes)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        var newTable = new ulong[tableSize];
        if (tableSize > MaxTableIndex)
        {
            Array.Copy(Table, newTable, Math.Min(Table.Length, MaxTableIndex + 1));
        }
        else
        {
            Array.Copy(Table, newTable, tableSize);
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

        FillAreaBlocks(newTable, areaReftableIndex, totalRefblockCount, startOffset, endOffset);
        WriteArea(newTable, tableSize, tableOffset, tableClusters);
        _host.RefcountTableSwitched(tableOffset, (uint)tableClusters);

        long oldOffset = TableOffset, oldSize = TableSize;
        Switch(newTable, tableOffset, tableSize);
        _host.NoteRefcountTableMoved(oldOffset, oldSize * 8);
        Free(oldOffset, oldSize * 8, DiscardType.Other);
        return endOffset;
    }

    /// <summary>
    /// qcow2_refcount_area's blocks: gives every table entry of the area a block (new ones from startOffset on) and counts
    /// one reference to every cluster of the area up to endOffset in them, in the cache.
    /// </summary>
    private void FillAreaBlocks(ulong[] newTable, long areaReftableIndex, long totalRefblockCount, long startOffset, long endOffset)
    {
        long blockOffset = startOffset;
        for (long i = areaReftableIndex; i < totalRefblockCount; i++)
        {
            long thisBlock;
            byte[] data;
            if (newTable[i] != 0)
            {
                thisBlock = (long)newTable[i];
                _host.File.DebugEvent("refblock_load");
                data = Cache.Get(thisBlock);
            }
            else
            {
                thisBlock = blockOffset;
                data = Cache.GetEmpty(thisBlock);
                Cache.MarkDirty(thisBlock);
                newTable[i] = (ulong)blockOffset;
                blockOffset += _clusterSize;
            }
            long firstCovered = i * BlockSize * _clusterSize;
            if (firstCovered < endOffset)
            {
                long j = firstCovered < startOffset ? (startOffset - firstCovered) / _clusterSize : 0;
                long endIndex = Math.Min((endOffset - firstCovered) / _clusterSize, BlockSize);
                for (; j < endIndex; j++)
                {
                    RefcountBlock.Set(data, j, Order, 1);
                }
                Cache.MarkDirty(thisBlock);
            }
        }
    }

    /// <summary>
    /// qcow2_refcount_area's writes: the blocks, the new table, then the header's pointer to it. When one fails the
    /// old table stays active (the fail path); the blocks only the new table knows are dropped from the cache so that no
    /// stale copy is ever written over what their clusters hold later.
    /// </summary>
    private void WriteArea(ulong[] newTable, long tableSize, long tableOffset, long tableClusters)
    {
        try
        {
            _host.File.DebugEvent("refblock_alloc_write_blocks");
            Cache.Flush();
            byte[] raw = Qcow2Image.TableBytes(newTable, checked((int)tableSize));
            _host.File.DebugEvent("refblock_alloc_write_table");
            _host.File.Write(tableOffset, raw);
            var hdr = new byte[12];
            BinaryPrimitives.WriteUInt64BigEndian(hdr, (ulong)tableOffset);
            BinaryPrimitives.WriteUInt32BigEndian(hdr.AsSpan(8), (uint)tableClusters);
            _host.File.DebugEvent("refblock_alloc_switch_table");
            _host.File.Write(Header.RefcountTableOffsetOffset, hdr);
        }
        catch (BlockIOException)
        {
            DiscardBlocksNotIn(Table, newTable);
            throw;
        }
    }

    private void DiscardBlocksNotIn(ulong[] active, ulong[] candidate)
    {
        var known = new HashSet<ulong>(active.Select(e => e & RefcountTableEntry.OffsetMask));
        foreach (var e in candidate)
        {
            ulong block = e & RefcountTableEntry.OffsetMask;
            if (block != 0 && !known.Contains(block))
            {
                Cache.Discard((long)block);
            }
        }
    }

    /// <summary>
    /// Refcount blocks needed to count clusters clusters plus the refcount structures themselves, found as the
    /// fixed point where no more blocks or table clusters are needed (qcow2_refcount_metadata_size); a generous
    /// increase leaves room for half as many table clusters again.
    /// </summary>
    private long MetadataSize(long clusters, bool generousIncrease, out long metaClusters)
    {
        long blocksPerTableCluster = _clusterSize / 8;
        long table = 0, blocks = 0, last, n = 0;
        do
        {
            last = n;
            blocks = Qcow2Image.DivRoundUp(clusters + table + blocks, BlockSize);
            table = Qcow2Image.DivRoundUp(blocks, blocksPerTableCluster);
            n = clusters + blocks + table;
            if (n == last && generousIncrease)
            {
                clusters += Qcow2Image.DivRoundUp(table, 2);
                n = 0;
                generousIncrease = false;
            }
        }
        while (n != last);
        metaClusters = blocks + table;
        return blocks;
    }
}
