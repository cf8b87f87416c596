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
        CheckTruncateTarget(offset);
        long oldLength = DiskSizeBytes;
        // A backing file that reaches into the new area would show through: the new area must read as zeros.
        bool zeroWrite = offset > oldLength && Backing is not null && Backing.Size > oldLength;
        CheckTruncateSupported(offset, prealloc);

        ResizeL1ForTruncate(offset, oldLength, prealloc);

        // The file driver zeroes a file grown for falloc/full itself (BDRV_REQ_ZERO_WRITE on truncate), so the flag is dropped.
        zeroWrite &= !PreallocateGrowth(prealloc, oldLength, offset);

        if (zeroWrite)
        {
            ZeroNewArea(oldLength, offset);
        }

        if (prealloc != "off")
        {
            FlushPreallocatedArea();
        }

        WriteTruncatedSize(offset);
        TruncateDirtyBitmaps();
    }

    /// <summary>Refuses a negative size, one past the format's maximum, and a read-only image.</summary>
    private void CheckTruncateTarget(long offset)
    {
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
    }

    /// <summary>
    /// Refuses what qcow2_co_truncate cannot do: an unknown preallocation mode, a size not in whole sectors, a v2 image
    /// with snapshots, and persistent bitmaps that cannot follow the resize.
    /// </summary>
    private void CheckTruncateSupported(long offset, string prealloc)
    {
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
    }

    /// <summary>Shrinks the image (freeing what lies past the new end) or grows its L1 table to cover the new size.</summary>
    private void ResizeL1ForTruncate(long offset, long oldLength, string prealloc)
    {
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
    }

    /// <summary>Writes the L2 tables and refcount blocks of a preallocated area out.</summary>
    private void FlushPreallocatedArea()
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

    /// <summary>
    /// qcow2_co_truncate sets the node's length before it writes the header field: when that write fails, the node
    /// keeps the new length (the L1 table already covers it) and the next header update writes it.
    /// </summary>
    private void WriteTruncatedSize(long offset)
    {
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
