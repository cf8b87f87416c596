using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>The largest image length the block layer accepts (BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB).</summary>
    public const long MaxLength = Storage.StorageRequest.MaxLength;

    /// <inheritdoc/>
    public override void Resize(long newSize, bool shrink) => Truncate(newSize, "off");

    /// <summary>
    /// Sets the virtual size as blk_truncate with exact=true does on a qcow2 node (bdrv_co_truncate, qcow2_co_truncate):
    /// growing enlarges the L1 table exactly; shrinking frees every cluster past the new end, empties the L1 entries
    /// beyond it, drops refcount blocks that count nothing and cuts the file after the last used cluster.
    /// prealloc is "off", "metadata", "falloc" or "full". Throws ImageChangeException with QEMU's message.
    /// </summary>
    public void Truncate(long offset, string prealloc)
    {
        ArgumentNullException.ThrowIfNull(prealloc);
        CheckUsable();
        _amendReports.Clear();
        if (offset < 0)
        {
            throw AmendError("Image size cannot be negative", Errno.EINVAL);
        }
        if (offset > MaxLength)
        {
            throw AmendError($"offset({offset}) exceeds maximum({MaxLength})", Errno.EIO);
        }
        if (_readOnly)
        {
            throw AmendError("Image is read-only", Errno.EACCES);
        }
        long oldLength = DiskSizeBytes;
        // A backing file that reaches into the new area would show through: the new area must read as zeros.
        bool zeroWrite = offset > oldLength && Backing is not null && Backing.Size > oldLength;

        if (prealloc is not ("off" or "metadata" or "falloc" or "full"))
        {
            throw AmendError($"qcow2: preallocation={prealloc} on resize is not supported by this engine", Errno.ENOTSUP);
        }
        if (offset % 512 != 0)
        {
            throw AmendError("The new size must be a multiple of 512", Errno.EINVAL);
        }
        if (_snapshots.Count > 0 && _header.Version < 3)
        {
            throw AmendError("Can't resize a v2 image which has snapshots", Errno.ENOTSUP);
        }
        string? bitmapsError = TruncateBitmapsCheck(out string? bitmapsHint);
        if (bitmapsError is not null)
        {
            throw AmendError(bitmapsError, Errno.ENOTSUP, bitmapsHint);
        }

        long newL1Size = SizeToL1(offset);
        if (offset < oldLength)
        {
            if (prealloc != "off")
            {
                throw AmendError("Preallocation can't be used for shrinking an image", Errno.EINVAL);
            }
            Shrink(offset, oldLength, newL1Size);
        }
        else
        {
            try
            {
                GrowL1Table(newL1Size, true);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to grow the L1 table", e);
            }
        }

        // The file driver zeroes a file grown for falloc/full itself (BDRV_REQ_ZERO_WRITE on truncate), so the flag is dropped.
        zeroWrite &= !PreallocateGrowth(prealloc, oldLength, offset);

        if (zeroWrite)
        {
            ZeroNewArea(oldLength, offset);
        }

        if (prealloc != "off")
        {
            try
            {
                _l2Cache.Flush();
                _refcounts.Cache.Flush();
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to flush the preallocated area to disk", e);
            }
        }

        // qcow2_co_truncate sets the node's length before it writes the header field: when that write fails, the node
        // keeps the new length (the L1 table already covers it) and the next header update writes it.
        _header.Size = (ulong)offset;
        try
        {
            var b = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(b, (ulong)offset);
            _file.Write(Header.SizeOffset, b);
            _file.Flush();
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to update the image size", e);
        }
        TruncateDirtyBitmaps();
    }

    /// <summary>qcow2_co_truncate's preallocation of the grown area; true when it grew the file with falloc or full.</summary>
    private bool PreallocateGrowth(string prealloc, long oldLength, long offset)
    {
        if (prealloc == "metadata")
        {
            long before = _file.Length;
            PreallocateMetadata(oldLength, offset);
            // qemu-img 7.2 extends the file to a whole cluster past the last preallocated one.
            if (_file.Length > before && OffsetIntoCluster(_file.Length) != 0)
            {
                _file.SetLength(RoundUp(_file.Length, _clusterSize));
            }
            return false;
        }
        if (prealloc is "falloc" or "full" && offset > oldLength)
        {
            PreallocateData(oldLength, offset, full: prealloc == "full");
            return true;
        }
        return false;
    }

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

    /// <summary>discard_in_l2_slice with full_discard and QCOW2_DISCARD_ALWAYS: entries become unallocated.</summary>
    private long DiscardFullyInL2Slice(long offset, long nbClusters)
    {
        var (l2Offset, table, index) = GetClusterTable(offset);
        nbClusters = Math.Min(nbClusters, _l2Size - index);
        for (int i = 0; i < nbClusters; i++)
        {
            table = _l2Cache.Get(l2Offset);
            ulong old = GetEntry(table, index + i);
            if (old == 0)
            {
                continue;
            }
            _l2Cache.MarkDirty(l2Offset);
            SetEntry(table, index + i, 0);
            FreeAnyCluster(old, DiscardType.Always);
        }
        return nbClusters;
    }

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
        if (failure is not null)
        {
            throw failure;
        }
    }

    /// <summary>qcow2_discard_refcount_block: the block's own refcount (in the block covering it) goes from 1 to 0.</summary>
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
        _file.Discard(blockOffset, _clusterSize);
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

    /// <summary>
    /// The BDRV_REQ_ZERO_WRITE part of qcow2_co_truncate: zero clusters from the first cluster boundary at or after
    /// the old end, and explicit zeros for the head before it.
    /// </summary>
    private void ZeroNewArea(long oldLength, long offset)
    {
        long zeroStart = RoundUp(oldLength, _clusterSize);
        if (offset > zeroStart)
        {
            if (_header.Version < 3)
            {
                throw AmendError("Failed to zero out new clusters: " + ErrnoText.Of(Errno.ENOTSUP), Errno.ENOTSUP);
            }
            try
            {
                long nb = SizeToClusters(offset - zeroStart);
                long at = zeroStart;
                while (nb > 0)
                {
                    long cleared = ZeroInL2Slice(at, nb, false);
                    nb -= cleared;
                    at += cleared * _clusterSize;
                }
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to zero out new clusters", e);
            }
        }
        if (zeroStart > oldLength)
        {
            try
            {
                WriteGuest(oldLength, new byte[Math.Min(zeroStart, offset) - oldLength]);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to zero out the new area", e);
            }
        }
    }
}
