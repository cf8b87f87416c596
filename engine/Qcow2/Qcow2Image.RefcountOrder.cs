using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>What a pass over the refcount structures does with each finished new refcount block.</summary>
    private delegate void RefblockFinish(ref ulong[] table, long index, byte[] block, bool empty, ref bool allocated);

    /// <summary>
    /// Rebuilds the refcount structures at a new width (qcow2_change_refcount_order): walks the old table to allocate
    /// the new blocks and table until no more allocations happen, writes the new blocks and table, switches the
    /// header, then frees the old structures.
    /// </summary>
    private void ChangeRefcountOrder(int order)
    {
        ulong[] newTable = [];
        long newTableOffset = 0;
        try
        {
            BuildNewRefcountStructures(order, ref newTable, ref newTableOffset);
        }
        catch (ImageChangeException)
        {
            FreeNewRefcountStructures(newTable, newTableOffset);
            throw;
        }

        int oldOrder = _refcounts.Order;
        long oldSize = _refcounts.TableSize, oldOffset = _refcounts.TableOffset;
        ulong[] oldTable = _refcounts.Table;
        _header.RefcountOrder = (uint)order;
        _refcounts.Locate(newTableOffset, newTable.LongLength);
        try
        {
            UpdateHeader();
        }
        catch (BlockIOException e)
        {
            _header.RefcountOrder = (uint)oldOrder;
            _refcounts.Locate(oldOffset, oldSize);
            FreeNewRefcountStructures(newTable, newTableOffset);
            throw AmendError("Failed to update the qcow2 header", e);
        }
        _refcounts.Switch(newTable, newTableOffset, newTable.LongLength);
        _refcounts.SetOrder(order);

        // The overlap structures follow the switch; the old blocks are data clusters about to be freed.
        for (long i = 0; i < oldSize; i++)
        {
            long rb = (long)(oldTable[i] & RefcountTableEntryOffsetMask);
            if (rb != 0)
            {
                _tracker.Remove(rb, _clusterSize, Overlap.OverlapTypes.RefcountBlock);
            }
        }
        NoteRefcountTableMoved(oldOffset, oldSize * 8);
        FreeNewRefcountStructures(oldTable, oldOffset, oldSize);
    }

    /// <summary>
    /// qcow2_change_refcount_order up to the switch: walks the old table to allocate the new blocks and table until no
    /// more allocations happen, then writes the new blocks and table. newTable and newTableOffset say at every moment
    /// what exists, so that the caller can free it when this throws.
    /// </summary>
    private void BuildNewRefcountStructures(int order, ref ulong[] newTable, ref long newTableOffset)
    {
        int newBlockEntries = 1 << (_clusterBits - (order - 3));
        var newBlock = new byte[_clusterSize];
        long allocatedTableSize = 0;
        bool allocation;
        int walkIndex = 0;
        do
        {
            allocation = false;
            int totalWalks = Math.Max(walkIndex + 2, 3);
            WalkOverReftable(ref newTable, newBlockEntries, order, null, AllocNewRefblock, ref allocation, walkIndex++, totalWalks);
            if (allocation)
            {
                if (newTableOffset != 0)
                {
                    FreeClusters(newTableOffset, allocatedTableSize * 8, DiscardType.Never);
                }
                try
                {
                    newTableOffset = AllocClusters(newTable.LongLength * 8);
                }
                catch (BlockIOException e)
                {
                    newTableOffset = 0;
                    throw AmendError("Failed to allocate the new reftable", e);
                }
                allocatedTableSize = newTable.LongLength;
            }
        }
        while (allocation);

        bool none = false;
        WalkOverReftable(ref newTable, newBlockEntries, order, newBlock, FlushNewRefblock, ref none, walkIndex, walkIndex + 1);

        try
        {
            PreWriteOverlapCheck(Overlap.OverlapTypes.None, newTableOffset, newTable.LongLength * 8);
        }
        catch (BlockIOException e)
        {
            throw AmendError("Overlap check failed", e);
        }
        try
        {
            _file.Write(newTableOffset, TableBytes(newTable, newTable.Length));
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to write the new reftable", e);
        }
        try
        {
            _refcounts.Cache.Flush();
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to flush the refblock cache", e);
        }
    }

    /// <summary>Frees every refcount block a table names and the table itself (the cleanup after the done label).</summary>
    private void FreeNewRefcountStructures(ulong[] table, long tableOffset, long tableSize = -1)
    {
        foreach (ulong e in table)
        {
            long offset = (long)(e & RefcountTableEntryOffsetMask);
            if (offset != 0)
            {
                FreeClusters(offset, _clusterSize, DiscardType.Other);
            }
        }
        if (tableOffset > 0)
        {
            FreeClusters(tableOffset, (tableSize < 0 ? table.LongLength : tableSize) * 8, DiscardType.Other);
        }
    }

    /// <summary>
    /// walk_over_reftable: every refcount of the current structures, in order, copied into new blocks of newEntries
    /// entries at the new width (when block is given); finish runs for every completed new block.
    /// </summary>
    private void WalkOverReftable(ref ulong[] newTable, int newEntries, int newOrder, byte[]? block, RefblockFinish finish, ref bool allocated,
        int walkIndex, int totalWalks)
    {
        int newBits = 1 << newOrder;
        long newIndex = 0;
        int entry = 0;
        bool empty = true;

        void Complete(ref ulong[] table, ref bool alloc)
        {
            finish(ref table, newIndex, block ?? [], empty, ref alloc);
            newIndex++;
            entry = 0;
            empty = true;
        }

        for (long ti = 0; ti < _refcounts.TableSize; ti++)
        {
            _amendProgress.Status(walkIndex * _refcounts.TableSize + ti, totalWalks * _refcounts.TableSize);
            long rbOffset = (long)(_refcounts.Table[ti] & RefcountTableEntryOffsetMask);
            if (rbOffset != 0 && OffsetIntoCluster(rbOffset) != 0)
            {
                SignalCorruption(true, -1, -1, $"Refblock offset {Hex(rbOffset)} unaligned (reftable index: {Hex(ti)})");
                throw AmendError("Image is corrupt (unaligned refblock offset)", Errno.EIO);
            }
            // The block is looked up again only after a finished new block, whose allocation may have changed refcounts
            // (QEMU holds it for the whole block); an absent block is a run of zero refcounts, copied a run at a time.
            byte[]? old = null;
            for (long bi = 0; bi < _refcounts.BlockSize;)
            {
                if (entry >= newEntries)
                {
                    Complete(ref newTable, ref allocated);
                    old = null;
                }
                if (rbOffset != 0)
                {
                    old ??= RefblockForWalk(rbOffset);
                }
                else
                {
                    int run = (int)Math.Min(_refcounts.BlockSize - bi, newEntries - entry);
                    if (block is not null)
                    {
                        ZeroRefcounts(block, entry, run, newOrder);
                    }
                    entry += run;
                    bi += run;
                    continue;
                }
                ulong refcount = RefcountBlock.Get(old, bi, _refcounts.Order);
                if (newBits < 64 && refcount >> newBits != 0)
                {
                    long offset = ((ti << _refcounts.BlockBits) + bi) << _clusterBits;
                    throw AmendError($"Cannot decrease refcount entry width to {newBits} bits: Cluster at offset {Hex(offset)} has a refcount of {refcount}", Errno.EINVAL);
                }
                if (block is not null)
                {
                    RefcountBlock.Set(block, entry, newOrder, refcount);
                }
                entry++;
                bi++;
                empty = empty && refcount == 0;
            }
        }
        if (entry > 0)
        {
            if (block is not null)
            {
                for (; entry < newEntries; entry++)
                {
                    RefcountBlock.Set(block, entry, newOrder, 0);
                }
            }
            Complete(ref newTable, ref allocated);
        }
        _amendProgress.Status((walkIndex + 1) * _refcounts.TableSize, totalWalks * _refcounts.TableSize);
    }

    /// <summary>The refcount block the reftable walk reads.</summary>
    private byte[] RefblockForWalk(long rbOffset)
    {
        try
        {
            return _refcounts.Cache.Get(rbOffset);
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to retrieve refblock", e);
        }
    }

    /// <summary>Sets count refcounts from entry on to zero in a block of the given order.</summary>
    private static void ZeroRefcounts(byte[] block, int entry, int count, int order)
    {
        int bits = 1 << order;
        if ((long)entry * bits % 8 == 0 && (long)count * bits % 8 == 0)
        {
            Array.Clear(block, (int)((long)entry * bits / 8), (int)((long)count * bits / 8));
            return;
        }
        for (int i = 0; i < count; i++)
        {
            RefcountBlock.Set(block, entry + i, order, 0);
        }
    }

    /// <summary>alloc_refblock: grows the new table as needed and allocates a cluster for every non-empty new block.</summary>
    private void AllocNewRefblock(ref ulong[] table, long index, byte[] block, bool empty, ref bool allocated)
    {
        if (!empty && index >= table.LongLength)
        {
            long perCluster = _clusterSize / 8;
            long newSize = RoundUp(index + 1, perCluster);
            if (newSize > MaxRefcountTableBytes / 8)
            {
                throw AmendError("This operation would make the refcount table grow beyond the maximum size supported by QEMU, aborting", Errno.ENOTSUP);
            }
            Array.Resize(ref table, (int)newSize);
        }
        if (!empty && table[index] == 0)
        {
            try
            {
                table[index] = (ulong)AllocClusters(_clusterSize);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to allocate refblock", e);
            }
            allocated = true;
        }
    }

    /// <summary>flush_refblock: writes a finished new block where the new table puts it.</summary>
    private void FlushNewRefblock(ref ulong[] table, long index, byte[] block, bool empty, ref bool allocated)
    {
        if (index < table.LongLength && table[index] != 0)
        {
            long offset = (long)table[index];
            try
            {
                PreWriteOverlapCheck(Overlap.OverlapTypes.None, offset, _clusterSize);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Overlap check failed", e);
            }
            try
            {
                _file.Write(offset, block);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to write refblock", e);
            }
        }
    }
}
