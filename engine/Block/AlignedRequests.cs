namespace Qcow2.Block;

/// <summary>
/// How QEMU's block layer (block/io.c) shapes a request for a node with request limits before the driver sees it:
/// unaligned reads are widened to the request alignment, unaligned writes become read-modify-write, long transfers are
/// split at max-transfer, zero writes and discards are cut at their optimum alignment and maximum, and a zero write the
/// driver refuses falls back to writing zeros.
/// </summary>
internal static class AlignedRequests
{
    /// <summary>MAX_BOUNCE_BUFFER: the largest zeroed buffer a refused zero write falls back to.</summary>
    private const long MaxBounceBuffer = 32768L * 512;

    /// <summary>bdrv_co_preadv_part: the read widened to whole aligned blocks, then bdrv_aligned_preadv.</summary>
    public static void Read(IAlignedDriver node, BlkdebugLimits limits, long offset, Span<byte> buffer)
    {
        if (!Widen(limits, offset, buffer.Length, out long start, out long end))
        {
            AlignedRead(node, limits, offset, buffer);
            return;
        }
        var padded = new byte[end - start];
        AlignedRead(node, limits, start, padded);
        padded.AsSpan((int)(offset - start), buffer.Length).CopyTo(buffer);
    }

    /// <summary>bdrv_aligned_preadv: past the node's end reads zeros; the rest in max-transfer pieces.</summary>
    private static void AlignedRead(IAlignedDriver node, BlkdebugLimits limits, long offset, Span<byte> buffer)
    {
        long align = limits.RequestAlignment;
        long maxBytes = RoundUp(Math.Max(0, node.Length - offset), align);
        long chunk = RoundDown(limits.MaxTransfer > 0 ? limits.MaxTransfer : int.MaxValue, align);
        long done = 0;
        while (done < buffer.Length && done < maxBytes)
        {
            int n = (int)Math.Min(Math.Min(buffer.Length - done, maxBytes - done), chunk);
            node.DriverRead(offset + done, buffer.Slice((int)done, n));
            done += n;
        }
        buffer[(int)done..].Clear();
    }

    /// <summary>bdrv_co_pwritev_part: an unaligned write reads its head and tail blocks first (bdrv_padding_rmw_read).</summary>
    public static void Write(IAlignedDriver node, BlkdebugLimits limits, long offset, ReadOnlySpan<byte> data)
    {
        if (!Widen(limits, offset, data.Length, out long start, out _))
        {
            AlignedWrite(node, limits, offset, data);
            return;
        }
        var padded = PaddingRead(node, limits, offset, data.Length);
        data.CopyTo(padded.AsSpan((int)(offset - start)));
        AlignedWrite(node, limits, start, padded);
    }

    /// <summary>bdrv_padding_rmw_read: the aligned blocks holding the request's ends, read with the rmw events around
    /// them (one read when the padding covers the whole request). QEMU 7.2's callers ignore its failure: a failed read
    /// ends the padding there and the write goes on.</summary>
    private static byte[] PaddingRead(IAlignedDriver node, BlkdebugLimits limits, long offset, long bytes)
    {
        long align = limits.RequestAlignment;
        long start = RoundDown(offset, align);
        long end = RoundUp(offset + bytes, align);
        var padded = new byte[end - start];
        try
        {
            PaddingReadInto(node, limits, start, end, start != offset, end != offset + bytes, padded);
        }
        catch (BlockIOException)
        {
        }
        return padded;
    }

    private static void PaddingReadInto(IAlignedDriver node, BlkdebugLimits limits, long start, long end, bool head, bool tail, byte[] padded)
    {
        long align = limits.RequestAlignment;
        bool merge = MergedPadding(start, end, head, tail, align, out long bufLen);
        if (head || merge)
        {
            Event(node, head, "pwritev_rmw_head");
            Event(node, merge && tail, "pwritev_rmw_tail");
            AlignedRead(node, limits, start, padded.AsSpan(0, (int)(merge ? bufLen : align)));
            Event(node, head, "pwritev_rmw_after_head");
            Event(node, merge && tail, "pwritev_rmw_after_tail");
        }
        if (tail && !merge)
        {
            node.Event("pwritev_rmw_tail");
            AlignedRead(node, limits, end - align, padded.AsSpan((int)(end - align - start)));
            node.Event("pwritev_rmw_after_tail");
        }
    }

    /// <summary>bdrv_init_padding: the padding buffer is one block, or two when both ends are partial and apart; its reads
    /// are merged into one when it covers the whole widened request.</summary>
    private static bool MergedPadding(long start, long end, bool head, bool tail, long align, out long bufLen)
    {
        bufLen = end - start > align && head && tail ? 2 * align : align;
        return end - start == bufLen;
    }

    private static void Event(IAlignedDriver node, bool when, string name)
    {
        if (when)
        {
            node.Event(name);
        }
    }

    /// <summary>bdrv_aligned_pwritev without the zero flag: the pwritev events around the driver's writes, split at max-transfer.</summary>
    private static void AlignedWrite(IAlignedDriver node, BlkdebugLimits limits, long offset, ReadOnlySpan<byte> data)
    {
        node.Event("pwritev");
        try
        {
            long chunk = RoundDown(limits.MaxTransfer > 0 ? limits.MaxTransfer : int.MaxValue, limits.RequestAlignment);
            long done = 0;
            do
            {
                int n = (int)Math.Min(chunk, data.Length - done);
                node.DriverWrite(offset + done, data.Slice((int)done, n));
                done += n;
            }
            while (done < data.Length);
        }
        finally
        {
            node.Event("pwritev_done");
        }
    }

    /// <summary>A zero write (bdrv_co_do_zero_pwritev): partial blocks at the ends are written as data after reading them,
    /// the aligned middle as a zero write.</summary>
    public static void WriteZeroes(IAlignedDriver node, BlkdebugLimits limits, long offset, long bytes, bool mayUnmap)
    {
        long align = limits.RequestAlignment;
        if (!Widen(limits, offset, bytes, out long start, out long end))
        {
            AlignedZeroes(node, limits, offset, bytes, mayUnmap);
            return;
        }
        var padded = PaddingRead(node, limits, offset, bytes);
        padded.AsSpan((int)(offset - start), (int)bytes).Clear();
        bool merge = MergedPadding(start, end, start != offset, end != offset + bytes, align, out long bufLen);
        if (start != offset || merge)
        {
            AlignedWrite(node, limits, start, padded.AsSpan(0, (int)(merge ? bufLen : align)));
            if (merge)
            {
                return;
            }
            bytes -= start + align - offset;
            offset = start + align;
        }
        if (bytes >= align)
        {
            long middle = RoundDown(bytes, align);
            AlignedZeroes(node, limits, offset, middle, mayUnmap);
            offset += middle;
            bytes -= middle;
        }
        if (bytes > 0)
        {
            AlignedWrite(node, limits, offset, padded.AsSpan((int)(offset - start), (int)align));
        }
    }

    /// <summary>bdrv_aligned_pwritev with the zero flag: bdrv_co_do_pwrite_zeroes between the pwritev_zero and pwritev_done events.</summary>
    private static void AlignedZeroes(IAlignedDriver node, BlkdebugLimits limits, long offset, long bytes, bool mayUnmap)
    {
        node.Event("pwritev_zero");
        try
        {
            DoWriteZeroes(node, limits, offset, bytes, mayUnmap);
        }
        finally
        {
            node.Event("pwritev_done");
        }
    }

    /// <summary>bdrv_co_do_pwrite_zeroes: pieces up to the zero alignment, then aligned runs of at most max-write-zero; a
    /// piece the driver refuses is written from a zeroed buffer of at most max-transfer bytes.</summary>
    private static void DoWriteZeroes(IAlignedDriver node, BlkdebugLimits limits, long offset, long bytes, bool mayUnmap)
    {
        long alignment = Math.Max(limits.OptWriteZero, limits.RequestAlignment);
        long maxTransfer = limits.MaxTransfer > 0 ? Math.Min(limits.MaxTransfer, MaxBounceBuffer) : MaxBounceBuffer;
        long maxZeroes = RoundDown(limits.MaxWriteZero > 0 ? limits.MaxWriteZero : long.MaxValue, alignment);
        long head = offset % alignment;
        long tail = (offset + bytes) % alignment;
        while (bytes > 0)
        {
            long num = bytes;
            if (head != 0)
            {
                num = Math.Min(Math.Min(bytes, maxTransfer), alignment - head);
                head = (head + num) % alignment;
            }
            else if (tail != 0 && num > alignment)
            {
                num -= tail;
            }
            num = Math.Min(num, maxZeroes);
            if (!node.DriverWriteZeroes(offset, num, mayUnmap))
            {
                num = Math.Min(num, maxTransfer);
                node.DriverWrite(offset, new byte[num]);
            }
            offset += num;
            bytes -= num;
        }
    }

    /// <summary>bdrv_co_pdiscard: pieces up to the discard alignment (the small unaligned part first), then aligned runs of
    /// at most max-discard.</summary>
    public static void Discard(IAlignedDriver node, BlkdebugLimits limits, long childDiscardAlignment, long offset, long bytes)
    {
        long request = limits.RequestAlignment;
        long align = Math.Max(limits.OptDiscard > 0 ? limits.OptDiscard : childDiscardAlignment, request);
        long maxDiscard = RoundDown(limits.MaxDiscard > 0 ? limits.MaxDiscard : long.MaxValue, align);
        long head = offset % align;
        long tail = (offset + bytes) % align;
        while (bytes > 0)
        {
            long num = bytes;
            if (head != 0)
            {
                num = Math.Min(bytes, align - head);
                if (num % request != 0)
                {
                    num %= request;
                }
                head = (head + num) % align;
            }
            else if (tail != 0)
            {
                if (num > align)
                {
                    num -= tail;
                }
                else if (tail % request != 0 && tail > request)
                {
                    tail %= request;
                    num -= tail;
                }
            }
            num = Math.Min(num, maxDiscard);
            node.DriverDiscard(offset, num);
            offset += num;
            bytes -= num;
        }
    }

    /// <summary>The request widened to whole aligned blocks; false when it already is.</summary>
    private static bool Widen(BlkdebugLimits limits, long offset, long bytes, out long start, out long end)
    {
        long align = limits.RequestAlignment;
        start = RoundDown(offset, align);
        end = RoundUp(offset + bytes, align);
        return start != offset || end != offset + bytes;
    }

    private static long RoundDown(long v, long align) => v / align * align;

    private static long RoundUp(long v, long align) => (v + align - 1) / align * align;
}
