using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

// The shrinking half of qcow2_co_truncate: freeing clusters past the new end, the L1 table and refcount table cut down.
public sealed partial class Qcow2Image
{
    /// <summary>The shrinking half of qcow2_co_truncate.</summary>
    private void Shrink(long offset, long oldLength, long newL1Size)
    {
        // Unsigned as in QEMU: when the new end rounds up past an unaligned old end, nothing is discarded.
        ulong start = (ulong)RoundUp(offset, _clusterSize);
        ulong bytes = unchecked((ulong)oldLength - start);
        long nbClusters = (long)(unchecked(bytes + (ulong)_clusterSize - 1) >> _clusterBits);
        try
        {
            long at = (long)start;
            WithCachedDiscards(() =>
            {
                while (nbClusters > 0)
                {
                    long cleared = DiscardFullyInL2Slice(at, nbClusters);
                    nbClusters -= cleared;
                    at += cleared * _clusterSize;
                }
            });
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to discard cropped clusters", e);
        }
        catch (RetryAllocation)
        {
            throw AmendError("Failed to discard cropped clusters: " + ErrnoText.Of(Errno.EAGAIN), Errno.EAGAIN);
        }

        try
        {
            ShrinkL1Table(newL1Size);
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to reduce the number of L2 tables", e);
        }

        try
        {
            ShrinkReftable();
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to discard unused refblocks", e);
        }

        long oldFileSize = _file.Length;
        long lastCluster;
        try
        {
            lastCluster = LastUsedCluster(oldFileSize);
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to find the last cluster", e);
        }
        if ((lastCluster + 1) * _clusterSize < oldFileSize)
        {
            _file.SetLength((lastCluster + 1) * _clusterSize);
        }
    }

    /// <summary>discard_in_l2_slice with full_discard and QCOW2_DISCARD_ALWAYS: entries and bitmaps become unallocated.</summary>
    private long DiscardFullyInL2Slice(long offset, long nbClusters) => DiscardInL2Slice(offset, nbClusters, fullDiscard: true, DiscardType.Always);

    /// <summary>qcow2_shrink_l1_table: zeroes the L1 entries past the new size on disk and frees their L2 tables.</summary>
    private void ShrinkL1Table(long exactSize)
    {
        if (exactSize >= _l1Size)
        {
            return;
        }
        int newSize = (int)exactSize;
        try
        {
            _file.DebugEvent("l1_shrink_write_table");
            _file.WriteZeroes(_l1TableOffset + (long)newSize * 8, (long)(_l1Size - newSize) * 8);
            _file.Flush();
        }
        catch (BlockIOException)
        {
            Array.Clear(_l1Table, newSize, _l1Size - newSize);
            throw;
        }
        _file.DebugEvent("l1_shrink_free_l2_clusters");
        for (int i = _l1Size - 1; i > newSize - 1; i--)
        {
            long l2 = (long)(_l1Table[i] & L1Entry.OffsetMask);
            if (l2 == 0)
            {
                continue;
            }
            _tracker.Remove(l2, _clusterSize, OverlapTypes.ActiveL2);
            FreeClusters(l2, _clusterSize, DiscardType.Always);
            _l1Table[i] = 0;
        }
    }

    /// <summary>qcow2_cache_get's alignment check on a refcount block offset.</summary>
    private byte[] GetRefblockChecked(long offset)
    {
        if (OffsetIntoCluster(offset) != 0)
        {
            SignalCorruption(true, -1, -1, $"Cannot get entry from refcount block cache: Offset {Hex(offset)} is unaligned");
            throw new BlockIOException(Errno.EIO);
        }
        return _refcounts.Cache.Get(offset);
    }

    /// <summary>qcow2_shrink_reftable: drops every refcount block that counts nothing but itself.</summary>
    private void ShrinkReftable()
    {
        var tmp = new ulong[_refcounts.TableSize];
        for (long i = 0; i < _refcounts.TableSize; i++)
        {
            long rb = (long)(_refcounts.Table[i] & RefcountTableEntryOffsetMask);
            if (rb == 0)
            {
                continue;
            }
            var block = GetRefblockChecked(rb);
            bool unused;
            if (i == (rb >> (_clusterBits + _refcounts.BlockBits)))
            {
                // The block counts itself: ignore that one reference.
                long bi = (rb >> _clusterBits) & (_refcounts.BlockSize - 1);
                ulong own = RefcountBlock.Get(block, bi, _refcounts.Order);
                RefcountBlock.Set(block, bi, _refcounts.Order, 0);
                unused = block.AsSpan().IndexOfAnyExcept((byte)0) < 0;
                RefcountBlock.Set(block, bi, _refcounts.Order, own);
            }
            else
            {
                unused = block.AsSpan().IndexOfAnyExcept((byte)0) < 0;
            }
            tmp[i] = unused ? 0 : _refcounts.Table[i];
        }

        BlockIOException? failure = null;
        try
        {
            _file.Write(_refcounts.TableOffset, TableBytes(tmp, tmp.Length));
            _file.Flush();
        }
        catch (BlockIOException e)
        {
            failure = e;
        }
        for (long i = 0; i < _refcounts.TableSize; i++)
        {
            if (_refcounts.Table[i] != 0 && tmp[i] == 0)
            {
                long rb = (long)(_refcounts.Table[i] & RefcountTableEntryOffsetMask);
                if (failure is null)
                {
                    try
                    {
                        DiscardRefcountBlock(rb);
                    }
                    catch (BlockIOException e)
                    {
                        failure = e;
                    }
                }
                _tracker.Remove(rb, _clusterSize, OverlapTypes.RefcountBlock);
                _refcounts.SetEntry(i, 0);
            }
        }
        _refcounts.UpdateMaxTableIndex();
        // The dropped blocks were queued (update_refcount_discard): adjacent ones go down as one range.
        if (!_refcounts.CacheDiscards)
        {
            _refcounts.ProcessDiscards(failure is null);
        }
        if (failure is not null)
        {
            throw failure;
        }
    }

    /// <summary>qcow2_discard_refcount_block: the block's own refcount (in the block covering it) goes from 1 to 0, its discard queued.</summary>
    private void DiscardRefcountBlock(long blockOffset)
    {
        long clusterIndex = blockOffset >> _clusterBits;
        long tableIndex = clusterIndex >> _refcounts.BlockBits;
        long covering = tableIndex < _refcounts.TableSize ? (long)(_refcounts.Table[tableIndex] & RefcountTableEntryOffsetMask) : 0;
        if (covering == 0)
        {
            SignalCorruption(true, -1, -1, $"Refblock at {Hex(blockOffset)} is not covered by the refcount structures");
            throw new BlockIOException(Errno.EIO);
        }
        var block = GetRefblockChecked(covering);
        long bi = clusterIndex & (_refcounts.BlockSize - 1);
        ulong refcount = RefcountBlock.Get(block, bi, _refcounts.Order);
        if (refcount != 1)
        {
            SignalCorruption(true, -1, -1,
                $"Invalid refcount: refblock offset {Hex(covering)}, reftable index {(uint)tableIndex}, block offset {Hex(blockOffset)}, refcount {Hex((long)refcount)}");
            throw new BlockIOException(Errno.EINVAL);
        }
        RefcountBlock.Set(block, bi, _refcounts.Order, 0);
        _refcounts.Cache.MarkDirty(covering);
        _refcounts.NoteFreed(clusterIndex);
        if (_refcounts.Cache.Contains(blockOffset))
        {
            _refcounts.Cache.Discard(blockOffset);
        }
        _refcounts.QueueDiscard(blockOffset, _clusterSize);
    }

    /// <summary>qcow2_get_last_cluster: the highest cluster of the file with a non-zero refcount.</summary>
    private long LastUsedCluster(long fileSize)
    {
        for (long i = SizeToClusters(fileSize) - 1; i >= 0; i--)
        {
            ulong refcount;
            try
            {
                refcount = GetRefcount(i);
            }
            catch (BlockIOException e)
            {
                _options.Diagnostics.Write($"Can't get refcount for cluster {i}: {ErrnoText.Of(e.Errno)}\n");
                throw;
            }
            if (refcount > 0)
            {
                return i;
            }
        }
        SignalCorruption(true, -1, -1, "There are no references in the refcount table.");
        throw new BlockIOException(Errno.EIO);
    }
}
