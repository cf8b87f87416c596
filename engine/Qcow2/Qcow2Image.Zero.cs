using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <inheritdoc/>
    public override void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        _guestWriteGeneration++;
        CheckWritable();
        CheckRequest(offset, length);
        MarkBitmapsDirty(offset, length);
        // Unaligned pieces may still become zero clusters when the rest of their cluster already reads as zeros,
        // else they are written as data.
        ForEachAlignedPiece(offset, length, (at, num) =>
        {
            if (!TryZeroClusters(at, num, mayUnmap))
            {
                WriteZeroBuffer(at, num);
            }
        });
        FlushIfWriteThrough();
    }

    private void WriteZeroBuffer(long offset, long num)
    {
        var zeros = new byte[Math.Min(num, 1 << 20)];
        for (long done = 0; done < num; done += zeros.Length)
        {
            WriteGuest(offset + done, zeros.AsSpan(0, (int)Math.Min(zeros.Length, num - done)));
        }
    }

    /// <summary>qcow2_co_pwrite_zeroes: false where QEMU answers ENOTSUP and the block layer writes zeros instead.</summary>
    private bool TryZeroClusters(long offset, long bytes, bool mayUnmap)
    {
        // Version 2 has no zero flag; without a backing file QEMU discards instead (qcow2_subcluster_zeroize).
        if (_header.Version < 3 && Backing is not null)
        {
            return false;
        }
        long head = OffsetIntoCluster(offset);
        long tail = RoundUp(offset + bytes, _clusterSize) - (offset + bytes);
        if (offset + bytes == Size)
        {
            tail = 0;
        }
        if (head != 0 || tail != 0)
        {
            if (!(IsZero(offset - head, head) && IsZero(offset + bytes, tail)))
            {
                return false;
            }
            offset -= head;
            bytes = _clusterSize;
            long n = _clusterSize;
            var type = GetHostOffset(offset, ref n, out _, out _);
            if (type is not (ClusterType.Unallocated or ClusterType.ZeroPlain or ClusterType.ZeroAlloc))
            {
                return false;
            }
        }
        long nbClusters = SizeToClusters(Math.Min(offset + bytes, Size) - offset);
        ZeroRawDataFile(offset, Math.Min(offset + bytes, Size) - offset);
        WithCachedDiscards(() =>
        {
            while (nbClusters > 0)
            {
                long cleared = _header.Version < 3
                    ? DiscardInL2Slice(offset, nbClusters, fullDiscard: false)
                    : ZeroInL2Slice(offset, nbClusters, mayUnmap);
                nbClusters -= cleared;
                offset += cleared * _clusterSize;
            }
        });
        return true;
    }

    /// <summary>Whether the range reads as zeros through the whole chain, clamped to the image (is_zero).</summary>
    private bool IsZero(long offset, long bytes)
    {
        if (offset + bytes > Size)
        {
            bytes = Size - offset;
        }
        if (bytes <= 0)
        {
            return true;
        }
        long end = offset + bytes;
        long pos = offset;
        while (pos < end)
        {
            var s = StatusAbove(pos, end - pos);
            if (!s.Zero)
            {
                return false;
            }
            pos += s.Length;
        }
        return true;
    }

    /// <summary>Status through the backing chain: the first layer that allocates the range decides.</summary>
    private Block.BlockStatus StatusAbove(long offset, long bytes)
    {
        var s = GetStatus(offset, bytes);
        if (s.Allocated || Backing is null)
        {
            return s;
        }
        if (offset >= Backing.Size)
        {
            return s with { Zero = true };
        }
        var b = Backing is Qcow2Image q ? q.StatusAbove(offset, Math.Min(s.Length, Backing.Size - offset)) : Backing.GetStatus(offset, Math.Min(s.Length, Backing.Size - offset));
        return b;
    }

    private long ZeroInL2Slice(long offset, long nbClusters, bool mayUnmap)
    {
        var (l2Offset, table, index) = GetClusterTable(offset);
        using var held = _l2Cache.Hold(l2Offset);
        nbClusters = Math.Min(nbClusters, _l2Size - index);
        for (int i = 0; i < nbClusters; i++)
        {
            ulong old = GetEntry(table, index + i);
            var type = TypeOf(old);
            bool unmap = type == ClusterType.Compressed || (mayUnmap && L2Entry.IsAllocated(type));
            ulong entry = (unmap ? 0 : old) | L2Entry.Zero;
            if (entry == old)
            {
                continue;
            }
            _l2Cache.MarkDirty(l2Offset);
            SetEntry(table, index + i, entry);
            if (unmap)
            {
                FreeAnyCluster(old, DiscardType.Request);
            }
        }
        return nbClusters;
    }

    /// <inheritdoc/>
    public override void Discard(long offset, long length)
    {
        _guestWriteGeneration++;
        CheckWritable();
        CheckRequest(offset, length);
        MarkBitmapsDirty(offset, length);
        ForEachAlignedPiece(offset, length, DiscardAligned);
    }

    /// <summary>
    /// Splits a request as the block layer does for drivers with cluster alignment (bdrv_co_do_pwrite_zeroes,
    /// bdrv_co_pdiscard): an unaligned head up to the next cluster boundary, the aligned bulk, an unaligned tail.
    /// </summary>
    private void ForEachAlignedPiece(long offset, long length, Action<long, long> piece)
    {
        long end = offset + length;
        while (offset < end)
        {
            long num = end - offset;
            long head = OffsetIntoCluster(offset);
            if (head != 0)
            {
                num = Math.Min(num, _clusterSize - head);
            }
            else if (OffsetIntoCluster(end) != 0 && num > _clusterSize)
            {
                num -= OffsetIntoCluster(end);
            }
            piece(offset, num);
            offset += num;
        }
    }

    /// <summary>qcow2_co_pdiscard for one piece: partial clusters are ignored, as QEMU answers ENOTSUP for them.</summary>
    private void DiscardAligned(long offset, long bytes)
    {
        // bdrv_co_pdiscard checks for a driver before every piece: an earlier piece's fatal corruption fails the rest
        CheckUsable();
        if (OffsetIntoCluster(offset | bytes) != 0 && (OffsetIntoCluster(offset) != 0 || offset + bytes != Size))
        {
            return;
        }
        if (_header.Version < 3 && Backing is not null)
        {
            return;
        }
        long nbClusters = SizeToClusters(bytes);
        WithCachedDiscards(() =>
        {
            while (nbClusters > 0)
            {
                long cleared = DiscardInL2Slice(offset, nbClusters, fullDiscard: false);
                nbClusters -= cleared;
                offset += cleared * _clusterSize;
            }
        });
    }

    private long DiscardInL2Slice(long offset, long nbClusters, bool fullDiscard)
    {
        var (l2Offset, table, index) = GetClusterTable(offset);
        using var held = _l2Cache.Hold(l2Offset);
        nbClusters = Math.Min(nbClusters, _l2Size - index);
        for (int i = 0; i < nbClusters; i++)
        {
            ulong old = GetEntry(table, index + i);
            var type = TypeOf(old);
            ulong entry = old;
            if (fullDiscard)
            {
                entry = 0;
            }
            else if (Backing is not null || L2Entry.IsAllocated(type))
            {
                entry = _header.Version >= 3 ? L2Entry.Zero : 0;
            }
            if (entry == old)
            {
                continue;
            }
            _l2Cache.MarkDirty(l2Offset);
            SetEntry(table, index + i, entry);
            FreeAnyCluster(old, DiscardType.Request);
        }
        return nbClusters;
    }
}
