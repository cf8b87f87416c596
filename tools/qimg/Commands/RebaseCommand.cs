using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qimg rebase: qemu-img 7.2's img_rebase. Unsafe mode (-u) only rewrites the backing file name and format; safe
/// mode first copies into the overlay every range, unallocated there, where the old and new backing files differ.
/// </summary>
public static class RebaseCommand
{
    /// <summary>qemu-img's IO_BUF_SIZE: the backing files are read 2 MiB at a time.</summary>
    private const int IoBufSize = 2 << 20;


    /// <summary>Runs the command; args[0] is "rebase".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        bool unsafeMode = false;
        var g = new CommandOptions(args, ":hf:F:b:upt:T:qU", CommandOptions.CommonAndForceShare, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            unsafeMode |= c == 'u';
        }
        string filename = g.OneImage();
        if (!unsafeMode && g.OtherImage is null)
        {
            throw new QimgUsageException("Must specify backing file (-b) or use unsafe mode (-u)");
        }
        var bar = new QemuProgress(ctx, g.ShowProgress, 2.0f);
        bar.Print(0, 100);
        try
        {
            Rebase(ctx, filename, g.Format, g.OtherImage ?? "", g.OtherFormat, g.Cache ?? CacheModes.Default, g.SourceCache ?? CacheModes.Default, unsafeMode, g.ImageOpts, bar);
        }
        finally
        {
            bar.End();
        }
        return 0;
    }

    private static void Rebase(ToolContext ctx, string filename, string? fmt, string baseImg, string? baseFmt,
        string cache, string srcCache, bool unsafeMode, bool imageOpts, QemuProgress bar)
    {
        if (!CacheModes.IsValid(cache))
        {
            throw new QimgException($"Invalid cache option: {cache}");
        }
        if (!CacheModes.IsValid(srcCache))
        {
            throw new QimgException($"Invalid source cache option: {srcCache}");
        }
        using BlockDevice dev = WritableImage.Open(ctx, filename, fmt, imageOpts, noBacking: unsafeMode, CacheModes.WritesThrough(cache),
            noFlush: cache == "unsafe");
        if (baseFmt is not null && !QemuFormatNames.IsKnown(baseFmt))
        {
            throw new QimgException($"Invalid format name: '{baseFmt}'");
        }
        string overlayName = imageOpts ? dev.FileName : filename;
        if (!unsafeMode)
        {
            BlockDevice? oldBacking = (dev as Qcow2Image)?.Backing;
            BlockDevice? newBacking = null;
            BlockDevice? ownedNewBacking = null;
            int prefixDepth = -1;
            try
            {
                if (baseImg.Length > 0)
                {
                    string realPath = ImageArgs.CombineBackingPath(overlayName, baseImg);
                    prefixDepth = BackingChain.Find(ctx, dev, overlayName, baseImg, out newBacking);
                    if (newBacking is null)
                    {
                        ownedNewBacking = OpenNewBacking(ctx, realPath, baseImg, baseFmt);
                        newBacking = ownedNewBacking;
                    }
                }
                CopyDifferences(dev, oldBacking, newBacking, prefixDepth, bar);
            }
            finally
            {
                ownedNewBacking?.Dispose();
            }
        }
        try
        {
            ChangeBacking(dev, baseImg, baseFmt);
        }
        finally
        {
            // qemu-img reports a failed change and still completes the progress.
            bar.Print(100, 0);
        }
    }

    /// <summary>blk_new_open of the new backing file: read-only, with its own chain; the error names the file as given.</summary>
    private static BlockDevice OpenNewBacking(ToolContext ctx, string realPath, string baseImg, string? baseFmt)
    {
        var options = new OpenOptions
        {
            Format = baseFmt,
            ReadOnly = true,
        }.ForTool(ctx);
        return ImageArgs.OpenOrSay(realPath, options, $"Could not open new backing file '{baseImg}'");
    }

    /// <summary>The loop of img_rebase's safe mode: writes the old backing's data wherever the new one differs.</summary>
    private static void CopyDifferences(BlockDevice dev, BlockDevice? oldBacking, BlockDevice? newBacking, int prefixDepth, QemuProgress bar)
    {
        long size = dev.Size;
        long oldSize = oldBacking is null ? 0 : ChainStatus.QemuLength(oldBacking);
        long newSize = newBacking is null ? 0 : ChainStatus.QemuLength(newBacking);
        float localProgress = size != 0 ? 100f / (size / Math.Min(size, IoBufSize)) : 0;
        var bufOld = new byte[IoBufSize];
        var bufNew = new byte[IoBufSize];
        long n;
        for (long offset = 0; offset < size; offset += n)
        {
            bool oldIsZero = false;
            n = Math.Min(IoBufSize, size - offset);
            n = IsAllocated(dev, offset, n, out bool allocated);
            if (allocated)
            {
                continue;
            }
            if (prefixDepth > 0)
            {
                n = IsAllocatedAbove((Qcow2Image)dev, prefixDepth, offset, n, out bool changed);
                if (!changed)
                {
                    continue;
                }
            }
            if (offset >= oldSize)
            {
                Array.Clear(bufOld, 0, (int)n);
                oldIsZero = true;
            }
            else
            {
                n = Math.Min(n, oldSize - offset);
                ReadBacking(oldBacking!, offset, bufOld.AsSpan(0, (int)n), "error while reading from old backing file");
            }
            if (offset >= newSize || newBacking is null)
            {
                Array.Clear(bufNew, 0, (int)n);
            }
            else
            {
                n = Math.Min(n, newSize - offset);
                ReadBacking(newBacking, offset, bufNew.AsSpan(0, (int)n), "error while reading from new backing file");
            }
            for (long written = 0; written < n;)
            {
                bool differ = SectorBuffers.Compare(bufOld.AsSpan((int)written), bufNew.AsSpan((int)written), (int)(n - written), out int pnum);
                if (differ)
                {
                    try
                    {
                        if (oldIsZero)
                        {
                            dev.WriteZeroes(offset + written, pnum, mayUnmap: false);
                        }
                        else
                        {
                            dev.Write(offset + written, bufOld.AsSpan((int)written, pnum));
                        }
                    }
                    catch (BlockIOException e)
                    {
                        throw new QimgException($"Error while writing to COW image: {ErrnoText.Of(e.Errno)}");
                    }
                }
                written += pnum;
            }
            bar.Print(localProgress, 100);
        }
    }

    /// <summary>bdrv_is_allocated on the overlay alone: its status and how far it reaches.</summary>
    private static long IsAllocated(BlockDevice dev, long offset, long bytes, out bool allocated)
    {
        try
        {
            if (dev is not Qcow2Image)
            {
                allocated = true;
                return bytes;
            }
            BlockStatus s = dev.GetStatus(offset, bytes);
            allocated = s.Allocated;
            return Math.Max(1, s.Length);
        }
        catch (BlockIOException e)
        {
            throw new QimgException($"error while reading image metadata: {ErrnoText.Of(e.Errno)}");
        }
    }

    /// <summary>bdrv_is_allocated_above(backing, prefix, include_base=false): allocated in a layer between the overlay and the prefix.</summary>
    private static long IsAllocatedAbove(Qcow2Image top, int prefixDepth, long offset, long bytes, out bool allocated)
    {
        allocated = false;
        BlockDevice? layer = top.Backing;
        for (int depth = 1; depth < prefixDepth && layer is not null; depth++)
        {
            long end = ChainStatus.QemuLength(layer);
            if (offset < end)
            {
                long n = IsAllocated(layer, offset, Math.Min(bytes, end - offset), out bool here);
                if (here)
                {
                    allocated = true;
                    return n;
                }
                bytes = n;
            }
            layer = (layer as Qcow2Image)?.Backing;
        }
        return bytes;
    }

    private static void ReadBacking(BlockDevice dev, long offset, Span<byte> buffer, string message)
    {
        try
        {
            ReadPadded(dev, offset, buffer);
        }
        catch (BlockIOException)
        {
            throw new QimgException(message);
        }
    }

    /// <summary>Reads guest data, with zeros past the end of a raw file (qemu rounds its length up to a sector).</summary>
    private static void ReadPadded(BlockDevice dev, long offset, Span<byte> buffer)
    {
        long avail = Math.Max(0, Math.Min(buffer.Length, dev.Size - offset));
        dev.Read(offset, buffer[..(int)avail]);
        buffer[(int)avail..].Clear();
    }


    /// <summary>bdrv_change_backing_file with qemu-img rebase's messages.</summary>
    private static void ChangeBacking(BlockDevice dev, string baseImg, string? baseFmt)
    {
        string? file = baseImg.Length > 0 ? baseImg : null;
        string? format = file is null ? null : baseFmt;
        Errno? error = null;
        if (file is not null && format is null)
        {
            error = Errno.EINVAL;
        }
        else if (dev is not Qcow2Image image)
        {
            error = Errno.ENOTSUP;
        }
        else
        {
            try
            {
                image.ChangeBackingFile(file, format);
            }
            catch (BlockIOException e)
            {
                error = e.Errno;
            }
        }
        if (error is Errno errno)
        {
            string reason = errno switch
            {
                Errno.ENOSPC => "No space left in the file header",
                Errno.EINVAL when file is not null && baseFmt is null => "backing format must be specified",
                _ => ErrnoText.Of(errno),
            };
            throw new QimgException($"Could not change the backing file to '{baseImg}': {reason}");
        }
    }
}
