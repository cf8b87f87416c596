using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// alloc_clusters_imrt: takes count contiguous free clusters from the in-memory refcount table, searching from
    /// firstFree (which is moved to the first gap seen) and growing the table past the image end when needed.
    /// </summary>
    private long AllocClustersImrt(int count, RefcountArray table, ref long firstFree)
    {
        long cluster = firstFree;
        bool firstGap = true;
        int contiguous = 0;
        for (; cluster < table.Size && contiguous < count; cluster++)
        {
            if (table.Get(cluster) == 0)
            {
                contiguous++;
                if (firstGap)
                {
                    firstFree = cluster;
                    firstGap = false;
                }
            }
            else if (contiguous != 0)
            {
                contiguous = 0;
            }
        }
        if (contiguous < count)
        {
            table.Resize(cluster + count - contiguous);
        }
        cluster -= contiguous;
        for (int i = 0; i < count; i++)
        {
            table.Set(cluster + i, 1);
        }
        return cluster << _clusterBits;
    }

    /// <summary>
    /// rebuild_refcounts_write_refblocks: writes a refcount block (a slice of the in-memory table) for every block
    /// of [firstCluster, endCluster) that counts anything, allocating the blocks from the in-memory table and
    /// entering them into reftable; returns 1 when reftable had to grow, 0 when not, or -errno.
    /// </summary>
    private int RebuildWriteRefblocks(RefcountArray table, long firstCluster, long endCluster, ref ulong[] reftable, out string? error)
    {
        error = null;
        long firstFree = 0;
        bool grown = false;
        for (long cluster = firstCluster; cluster < endCluster; cluster++)
        {
            if (table.Get(cluster) == 0)
            {
                continue;
            }
            long blockIndex = cluster >> _refcounts.BlockBits;
            long blockStart = blockIndex << _refcounts.BlockBits;
            long blockOffset;
            if (reftable.Length > blockIndex && reftable[blockIndex] != 0)
            {
                // Allocated in an earlier pass.
                blockOffset = (long)reftable[blockIndex];
            }
            else
            {
                // Never allocate inside a refcount block that was already written.
                if (firstFree < blockStart)
                {
                    firstFree = blockStart;
                }
                try
                {
                    blockOffset = AllocClustersImrt(1, table, ref firstFree);
                }
                catch (BlockIOException e)
                {
                    error = $"ERROR allocating refblock: {ErrnoText.Of(e.Errno)}";
                    return Neg(e.Errno);
                }
                long blockCluster = blockOffset / _clusterSize;
                if (blockCluster >= endCluster)
                {
                    // The block that counts this new block must be written as well.
                    endCluster = blockCluster + 1;
                }
                if (reftable.Length <= blockIndex)
                {
                    long entries = RoundUp((blockIndex + 1) * 8, _clusterSize) / 8;
                    Array.Resize(ref reftable, (int)entries);
                    grown = true;
                }
                reftable[blockIndex] = (ulong)blockOffset;
            }

            int ret = Guard(() => PreWriteOverlapCheck(OverlapTypes.None, blockOffset, _clusterSize));
            if (ret == 0)
            {
                long at = blockOffset;
                int from = checked((int)(blockIndex * _clusterSize));
                ret = Guard(() => _file.Write(at, table.Data.AsSpan(from, _clusterSize)));
            }
            if (ret < 0)
            {
                error = $"ERROR writing refblock: {StrError(ret)}";
                return ret;
            }
            cluster = blockStart + _refcounts.BlockSize - 1;
        }
        return grown ? 1 : 0;
    }

    /// <summary>
    /// rebuild_refcount_structure: writes new refcount blocks and a new refcount table from the in-memory table and
    /// switches the header to them; the old structures are left leaked for the following leak fix.
    /// </summary>
    private int RebuildRefcountStructure(ref CheckTally res, RefcountArray table, out string? error)
    {
        try
        {
            _refcounts.Cache.Flush();
        }
        catch (BlockIOException)
        {
            // qcow2_cache_empty's result is ignored here.
        }
        _refcounts.Cache.Clear();

        ulong[] reftable = [];
        int changed = RebuildWriteRefblocks(table, 0, table.Size, ref reftable, out error);
        if (changed < 0)
        {
            res.CheckErrors++;
            return changed;
        }

        long reftableOffset = -1, reftableLength, reftableClusters;
        do
        {
            long firstFree = 0;
            reftableLength = (long)reftable.Length * 8;
            reftableClusters = SizeToClusters(reftableLength);
            try
            {
                reftableOffset = AllocClustersImrt((int)reftableClusters, table, ref firstFree);
            }
            catch (BlockIOException e)
            {
                error = $"ERROR allocating reftable: {ErrnoText.Of(e.Errno)}";
                res.CheckErrors++;
                return Neg(e.Errno);
            }
            long startCluster = reftableOffset / _clusterSize;
            changed = RebuildWriteRefblocks(table, startCluster, startCluster + reftableClusters, ref reftable, out error);
            if (changed < 0)
            {
                res.CheckErrors++;
                return changed;
            }
        }
        while (changed != 0);

        int ret = WriteRebuiltReftable(reftable, reftableOffset, reftableClusters, out string? writeError);
        if (ret < 0)
        {
            error = writeError;
            return ret;
        }
        SwitchToRebuiltReftable(reftable, reftableOffset, reftableClusters);
        return 0;
    }

    /// <summary>Writes the rebuilt refcount table at its new place and points the header at it.</summary>
    private int WriteRebuiltReftable(ulong[] reftable, long reftableOffset, long reftableClusters, out string? error)
    {
        error = null;
        byte[] raw = TableBytes(reftable, reftable.Length);
        long tableAt = reftableOffset;
        int ret = Guard(() => PreWriteOverlapCheck(OverlapTypes.None, tableAt, raw.Length));
        if (ret == 0)
        {
            ret = Guard(() => _file.Write(tableAt, raw));
        }
        if (ret < 0)
        {
            error = $"ERROR writing reftable: {StrError(ret)}";
            return ret;
        }

        var hdr = new byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(hdr, (ulong)reftableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(hdr.AsSpan(8), (uint)reftableClusters);
        ret = Guard(() =>
        {
            _file.Write(Header.RefcountTableOffsetOffset, hdr);
            _file.Flush();
        });
        if (ret < 0)
        {
            error = $"ERROR setting reftable: {StrError(ret)}";
            return ret;
        }

        return 0;
    }

    /// <summary>Makes the rebuilt refcount table the image's one, in memory and for the overlap checks.</summary>
    private void SwitchToRebuiltReftable(ulong[] reftable, long reftableOffset, long reftableClusters)
    {
        // The old refcount blocks are no longer metadata for the overlap checks; the new ones are entered below.
        for (long i = 0; i <= _refcounts.MaxTableIndex && i < _refcounts.TableSize; i++)
        {
            long rb = (long)(_refcounts.Table[i] & RefcountTableEntryOffsetMask);
            if (rb > 0)
            {
                _tracker.Remove(rb, _clusterSize, OverlapTypes.RefcountBlock);
            }
        }
        long oldOffset = _refcounts.TableOffset, oldSize = _refcounts.TableSize;
        _refcounts.Switch(reftable, reftableOffset, reftable.Length);
        _header.RefcountTableOffset = (ulong)reftableOffset;
        _header.RefcountTableClusters = (uint)reftableClusters;
        NoteRefcountTableMoved(oldOffset, oldSize * 8);
    }
}
