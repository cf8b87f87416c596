using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qimg commit: qemu-img 7.2's img_commit. Copies what the top image (and the images down to the base) hold into
/// the base as QEMU's active commit job (a mirror) does, then empties the top image unless -d or -b is given.
/// </summary>
public static class CommitCommand
{
    /// <summary>mirror's MAX_IO_BYTES: one copy operation moves at most 1 MiB.</summary>
    private const long MaxIoBytes = 1 << 20;

    /// <summary>mirror's default buffer (DEFAULT_MIRROR_BUF_SIZE): one iteration takes at most 16 MiB of dirty chunks.</summary>
    private const long BufSize = 16L << 20;

    /// <summary>mirror's MAX_IN_FLIGHT: at most 16 copy operations are under way at once.</summary>
    private const int MaxInFlight = 16;

    /// <summary>bdrv_get_default_bitmap_granularity without a cluster size.</summary>
    private const long DefaultGranularity = 64 * 1024;

    /// <summary>The smallest granularity qemu uses for a target's dirty bitmap.</summary>
    private const long MinGranularity = 4096;

    /// <summary>Runs the command; args[0] is "commit".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        bool drop = false;
        var g = new CommandOptions(args, ":f:ht:b:dpqr:", CommandOptions.Common, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'b' or 'd':
                    // -b implies -d: the top image is left as it is.
                    drop = true;
                    break;
                case 'r':
                    // The rate limit only paces the job; qimg copies at full speed.
                    QimgNumbers.Cvtnum("rate limit", g.OptArg!, QimgNumbers.WarnTo(ctx.Err));
                    break;
            }
        }
        string filename = g.OneImage();
        string cache = g.Cache ?? CacheModes.Default;
        if (!CacheModes.IsValid(cache))
        {
            throw new QimgException($"Invalid cache option: {cache}");
        }
        using BlockDevice top = WritableImage.Open(ctx, filename, g.Format, g.ImageOpts, noBacking: false, CacheModes.WritesThrough(cache),
            noFlush: cache == "unsafe");
        var bar = new QemuProgress(ctx, g.ShowProgress, 1.0f);
        bar.Print(0, 100);
        try
        {
            Commit(ctx, top, g.ImageOpts ? top.FileName : filename, filename, g.OtherImage, drop, bar);
        }
        finally
        {
            bar.End();
        }
        if (!g.Quiet)
        {
            ctx.Out.Write("Image committed.\n");
        }
        return 0;
    }

    private static void Commit(ToolContext ctx, BlockDevice top, string topName, string filename, string? baseName, bool drop, QemuProgress bar)
    {
        int depth;
        if (baseName is not null)
        {
            depth = BackingChain.Find(ctx, top, topName, baseName, out _);
            if (depth < 0)
            {
                throw new QimgException($"Did not find '{baseName}' in the backing chain of '{filename}'");
            }
        }
        else
        {
            if (top is not Qcow2Image { Backing: not null })
            {
                throw new QimgException("Image does not have a backing file");
            }
            depth = 1;
        }
        var (basePath, baseFormat) = BackingChain.NameAt(top, topName, depth);
        try
        {
            // QEMU reopens the base node read-write; here a second open writes it, so the chain's read-only open of it
            // gives up its locks first (they would refuse the writer).
            BackingChain.DeviceAt(top, depth)?.FileLock?.Release();
            using (BlockDevice target = OpenBase(ctx, basePath, baseFormat))
            {
                try
                {
                    Mirror(ctx, (Qcow2Image)top, depth, target, bar);
                }
                catch (BlockIOException e)
                {
                    // img_commit reports the commit job's error this way (e.g. a write refused by the overlap checks).
                    throw new QimgException($"Block job failed: {e.Message}");
                }
            }
            if (!drop && top is Qcow2Image image)
            {
                image.MakeEmpty();
            }
        }
        catch (BlockIOException e)
        {
            throw new QimgException(e.Message);
        }
    }

    private static BlockDevice OpenBase(ToolContext ctx, string path, string? format)
    {
        var options = new OpenOptions
        {
            Format = format,
            ReadOnly = false,
        }.ForTool(ctx);
        return ImageArgs.OpenOrSay(path, options, $"Could not reopen '{path}'");
    }

    /// <summary>
    /// The active commit's mirror: marks every granularity chunk holding data allocated above the base, then issues
    /// operations for each dirty run in offset order, at most 1 MiB each. Zero writes take effect when issued; a copy
    /// writes once its read completes, which QEMU sees after the operations issued meanwhile (up to 16 in flight).
    /// </summary>
    private static void Mirror(ToolContext ctx, Qcow2Image top, int depth, BlockDevice target, QemuProgress bar)
    {
        // Active commit grows the base to the top's size first.
        if (top.Size > target.Size)
        {
            if (target is Qcow2Image grow)
            {
                grow.Truncate(top.Size, "off");
            }
            else
            {
                target.Resize(top.Size, shrink: false);
            }
        }
        long granularity = target is Qcow2Image tq ? Math.Max(MinGranularity, tq.ClusterSize) : DefaultGranularity;
        long targetCluster = target is Qcow2Image tq2 ? tq2.ClusterSize : 1;
        long size = top.Size;
        // The dirty bitmap as runs of whole chunks [first, end), merged where allocated extents touch.
        var runs = new List<(long First, long End)>();
        for (long offset = 0; offset < size;)
        {
            long n = AllocatedAbove(top, depth, offset, size - offset, out bool allocated);
            if (allocated)
            {
                long first = offset / granularity, end = (offset + n - 1) / granularity + 1;
                if (runs.Count > 0 && runs[^1].End >= first)
                {
                    runs[^1] = (runs[^1].First, Math.Max(runs[^1].End, end));
                }
                else
                {
                    runs.Add((first, end));
                }
            }
            offset += n;
        }
        using var status = new QemuBlockStatus(ctx);
        var pending = new List<CopyOp>();
        long total = runs.Sum(r => r.End - r.First) * granularity;
        long done = 0;
        long bufChunks = Math.Max(1, BufSize / granularity);
        foreach ((long first, long end) in runs)
        {
            for (long ch = first; ch < end;)
            {
                // One mirror_iteration: at most a buffer's worth of consecutive dirty chunks.
                long nbChunks = Math.Min(end - ch, bufChunks);
                long offset = ch * granularity;
                while (nbChunks > 0)
                {
                    long ioBytes = Issue(status, top, target, pending, offset, nbChunks, granularity, targetCluster);
                    long used = (ioBytes + granularity - 1) / granularity;
                    nbChunks -= used;
                    ch += used;
                    offset += ioBytes;
                    done += ioBytes;
                    if (total > 0)
                    {
                        bar.Print(100f * Math.Min(done, total) / total, 0);
                    }
                }
            }
        }
        Complete(pending, target);
        target.Flush();
        bar.Print(100, 0);
    }

    /// <summary>
    /// One operation of mirror_iteration at offset: the source's block status decides between a copy (data, or less
    /// than a chunk) and a zero write or discard on the target; returns the bytes it covers.
    /// </summary>
    private static long Issue(QemuBlockStatus status, Qcow2Image top, BlockDevice target, List<CopyOp> pending,
        long offset, long nbChunks, long granularity, long targetCluster)
    {
        long size = top.Size;
        var (flags, ioBytes) = status.Above(top, offset, Math.Min(nbChunks * granularity, size - offset));
        bool data = (flags & QemuBlockStatus.Data) != 0;
        if (data)
        {
            ioBytes = Math.Min(ioBytes, MaxIoBytes);
        }
        ioBytes -= ioBytes % granularity;
        bool copy = true;
        if (ioBytes < granularity)
        {
            ioBytes = granularity;
        }
        else if (!data && offset % targetCluster == 0 && ioBytes % targetCluster == 0)
        {
            copy = false;
        }
        long bytes = Math.Min(ioBytes, size - offset);
        if (copy)
        {
            // The read is issued now; the write follows once the read completes, after the operations issued meanwhile.
            if (pending.Count == MaxInFlight)
            {
                Complete(pending, target);
            }
            // Pooled buffers: at most MaxInFlight of up to MaxIoBytes are in use, as QEMU's mirror buffer bounds them.
            byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)bytes);
            top.Read(offset, buffer.AsSpan(0, (int)bytes));
            pending.Add(new CopyOp(offset, buffer, (int)bytes));
        }
        else if ((flags & QemuBlockStatus.Zero) != 0)
        {
            target.WriteZeroes(offset, bytes, mayUnmap: true);
        }
        else
        {
            target.Discard(offset, bytes);
        }
        return ioBytes;
    }

    /// <summary>
    /// The completions of the reads in flight, in order of issue. QEMU's order varies from run to run once several
    /// copies allocate clusters (its thread pool hands back finished reads newest first, as they happen to finish);
    /// issue order is what it does most often for a few operations.
    /// </summary>
    private static void Complete(List<CopyOp> pending, BlockDevice target)
    {
        foreach (CopyOp op in pending)
        {
            op.WriteTo(target);
        }
        pending.Clear();
    }

    /// <summary>A copy whose data was read and whose write is still to come.</summary>
    private sealed record CopyOp(long Offset, byte[] Data, int Length)
    {
        public void WriteTo(BlockDevice target)
        {
            target.Write(Offset, Data.AsSpan(0, Length));
            System.Buffers.ArrayPool<byte>.Shared.Return(Data);
        }
    }

    /// <summary>bdrv_is_allocated_above(top, base_overlay, include_base): allocated in a layer above the base.</summary>
    private static long AllocatedAbove(Qcow2Image top, int depth, long offset, long bytes, out bool allocated)
    {
        allocated = false;
        BlockDevice? layer = top;
        for (int d = 0; d < depth && layer is Qcow2Image q; d++)
        {
            if (offset < q.Size)
            {
                BlockStatus s = q.GetStatus(offset, Math.Min(bytes, q.Size - offset));
                if (s.Allocated)
                {
                    allocated = true;
                    return s.Length;
                }
                bytes = s.Length;
            }
            layer = q.Backing;
        }
        return bytes;
    }
}
