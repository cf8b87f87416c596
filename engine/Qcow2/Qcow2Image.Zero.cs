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
        ForEachAlignedPiece(offset, length, SubclusterSize, (at, num) =>
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
        // Extended L2 entries zero whole subclusters (bs->bl.pwrite_zeroes_alignment is the subcluster size).
        long head = offset & (SubclusterSize - 1);
        long tail = RoundUp(offset + bytes, SubclusterSize) - (offset + bytes);
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
            bytes = SubclusterSize;
            long n = SubclusterSize;
            var type = GetHostOffset(offset, ref n, out _, out _);
            if (type is not (ClusterType.Unallocated or ClusterType.ZeroPlain or ClusterType.ZeroAlloc))
            {
                return false;
            }
        }
        if (ExtendedL2)
        {
            return SubclusterZeroize(offset, bytes, mayUnmap);
        }
        long nbClusters = SizeToClusters(Math.Min(offset + bytes, Size) - offset);
        ZeroRawDataFile(offset, Math.Min(offset + bytes, Size) - offset);
        WithCachedDiscards(() =>
        {
            while (nbClusters > 0)
            {
                long cleared = _header.Version < 3
                    ? DiscardInL2Slice(offset, nbClusters, fullDiscard: false, DiscardType.Request)
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
            var type = ExtendedL2 ? ExtendedTypeOf(old) : TypeOf(old);
            bool unmap = type == ClusterType.Compressed || (mayUnmap && L2Entry.IsAllocated(type));
            // With extended entries every subcluster becomes zero instead of the cluster's zero flag.
            ulong entry = (unmap ? 0 : old) | (ExtendedL2 ? 0 : L2Entry.Zero);
            if (entry == old && (!ExtendedL2 || GetBitmap(table, index + i) == SubclusterBitmap.AllZeroes))
            {
                continue;
            }
            _l2Cache.MarkDirty(l2Offset);
            SetEntry(table, index + i, entry);
            if (ExtendedL2)
            {
                SetBitmap(table, index + i, SubclusterBitmap.AllZeroes);
            }
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
        ForEachAlignedPiece(offset, length, _clusterSize, DiscardAligned);
    }

    /// <summary>
    /// Splits a request as the block layer does for drivers with cluster alignment (bdrv_co_do_pwrite_zeroes,
    /// bdrv_co_pdiscard): an unaligned head up to the next cluster boundary, the aligned bulk, an unaligned tail.
    /// </summary>
    private static void ForEachAlignedPiece(long offset, long length, long align, Action<long, long> piece)
    {
        long end = offset + length;
        while (offset < end)
        {
            long num = end - offset;
            long head = offset & (align - 1);
            if (head != 0)
            {
                num = Math.Min(num, align - head);
            }
            else if ((end & (align - 1)) != 0 && num > align)
            {
                num -= end & (align - 1);
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
                long cleared = DiscardInL2Slice(offset, nbClusters, fullDiscard: false, DiscardType.Request);
                nbClusters -= cleared;
                offset += cleared * _clusterSize;
            }
        });
    }

    /// <summary>discard_in_l2_slice: with fullDiscard the entries (and subcluster bitmaps) become unallocated.</summary>
    private long DiscardInL2Slice(long offset, long nbClusters, bool fullDiscard, DiscardType discardType)
    {
        var (l2Offset, table, index) = GetClusterTable(offset);
        using var held = _l2Cache.Hold(l2Offset);
        nbClusters = Math.Min(nbClusters, _l2Size - index);
        for (int i = 0; i < nbClusters; i++)
        {
            ulong old = GetEntry(table, index + i), oldBitmap = GetBitmap(table, index + i), bitmap = oldBitmap;
            var type = ExtendedL2 ? ExtendedTypeOf(old) : TypeOf(old);
            ulong entry = old;
            if (fullDiscard)
            {
                (entry, bitmap) = (0, 0);
            }
            else if (Backing is not null || L2Entry.IsAllocated(type))
            {
                // With extended entries the discarded cluster's subclusters all read as zeros.
                (entry, bitmap) = ExtendedL2 ? (0, SubclusterBitmap.AllZeroes) : (_header.Version >= 3 ? L2Entry.Zero : 0, bitmap);
            }
            if (entry == old && bitmap == oldBitmap)
            {
                continue;
            }
            _l2Cache.MarkDirty(l2Offset);
            SetEntry(table, index + i, entry);
            if (ExtendedL2)
            {
                SetBitmap(table, index + i, bitmap);
            }
            FreeAnyCluster(old, discardType);
        }
        return nbClusters;
    }
}
