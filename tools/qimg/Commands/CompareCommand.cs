using System.Globalization;
using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qimg compare: qemu-img 7.2's img_compare. Exit 0 when the guest contents are identical, 1 when they differ,
/// 2 when an image cannot be opened, 3 when block status fails and 4 when a read fails.
/// </summary>
public static class CompareCommand
{
    /// <summary>qemu-img's IO_BUF_SIZE: reads are at most 2 MiB.</summary>
    private const int IoBufSize = 2 << 20;

    /// <summary>BDRV_SECTOR_SIZE: buffers are compared sector by sector.</summary>
    private const int SectorSize = 512;

    /// <summary>Runs the command; args[0] is "compare".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        bool strict = false;
        var g = new CommandOptions(args, ":hf:F:T:pqsU", CommandOptions.CommonAndForceShare, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            strict |= c == 's';
        }
        if (g.Operands.Count != 2)
        {
            throw new QimgUsageException("Expecting two image file names");
        }
        var bar = new QemuProgress(ctx, g.ShowProgress, 2.0f);
        try
        {
            return Compare(ctx, g.Operands[0], g.Operands[1], g.Format, g.OtherFormat, g.SourceCache ?? CacheModes.Default, g.ImageOpts, strict, g.Quiet, bar, g.ForceShare);
        }
        finally
        {
            bar.End();
        }
    }

    private static int Compare(ToolContext ctx, string filename1, string filename2, string? fmt1, string? fmt2,
        string cache, bool imageOpts, bool strict, bool quiet, QemuProgress bar, bool forceShare)
    {
        if (!CacheModes.IsValid(cache))
        {
            throw new QimgException($"Invalid source cache option: {cache}", exitCode: 2);
        }
        using BlockDevice dev1 = Open(ctx, filename1, fmt1, imageOpts, forceShare);
        using BlockDevice dev2 = Open(ctx, filename2, fmt2, imageOpts, forceShare);
        using var status = new QemuBlockStatus(ctx);
        var w = new Printer(ctx, quiet);
        long size1 = ChainStatus.QemuLength(dev1);
        long size2 = ChainStatus.QemuLength(dev2);
        long total = Math.Min(size1, size2);
        long progressBase = Math.Max(size1, size2);
        var buf1 = new byte[IoBufSize];
        var buf2 = new byte[IoBufSize];

        bar.Print(0, 100);
        if (strict && size1 != size2)
        {
            w.Line("Strict mode: Image size mismatch!");
            return 1;
        }
        long offset = 0;
        while (offset < total)
        {
            var (status1, pnum1) = Status(status, dev1, offset, size1 - offset, filename1);
            var (status2, pnum2) = Status(status, dev2, offset, size2 - offset, filename2);
            bool allocated1 = (status1 & QemuBlockStatus.Allocated) != 0;
            bool allocated2 = (status2 & QemuBlockStatus.Allocated) != 0;
            long chunk = Math.Min(pnum1, pnum2);
            if (strict && status1 != status2)
            {
                w.Line(string.Create(CultureInfo.InvariantCulture, $"Strict mode: Offset {offset} block status mismatch!"));
                return 1;
            }
            if ((status1 & QemuBlockStatus.Zero) != 0 && (status2 & QemuBlockStatus.Zero) != 0)
            {
                // Both read as zeros.
            }
            else if (allocated1 == allocated2)
            {
                if (allocated1)
                {
                    chunk = Math.Min(chunk, IoBufSize);
                    if (!SameContent(dev1, dev2, offset, (int)chunk, filename1, filename2, buf1, buf2, w))
                    {
                        return 1;
                    }
                }
            }
            else
            {
                chunk = Math.Min(chunk, IoBufSize);
                int ret = allocated1
                    ? CheckEmpty(dev1, offset, (int)chunk, filename1, buf1, w)
                    : CheckEmpty(dev2, offset, (int)chunk, filename2, buf1, w);
                if (ret != 0)
                {
                    return ret;
                }
            }
            offset += chunk;
            bar.Print((float)chunk / progressBase * 100, 100);
        }

        if (size1 != size2)
        {
            w.Line("Warning: Image size mismatch!");
            (BlockDevice over, string overName) = size1 > size2 ? (dev1, filename1) : (dev2, filename2);
            int ret = CheckOverhang(status, over, overName, offset, progressBase, buf1, w, bar);
            if (ret != 0)
            {
                return ret;
            }
        }
        w.Line("Images are identical.");
        return 0;
    }

    /// <summary>Reads chunk bytes at offset from both images and reports the first difference.</summary>
    private static bool SameContent(BlockDevice dev1, BlockDevice dev2, long offset, int chunk, string filename1, string filename2,
        byte[] buf1, byte[] buf2, Printer w)
    {
        Read(dev1, offset, buf1.AsSpan(0, chunk), filename1);
        Read(dev2, offset, buf2.AsSpan(0, chunk), filename2);
        bool differ = SectorBuffers.Compare(buf1, buf2, chunk, out int pnum);
        if (differ || pnum != chunk)
        {
            w.Line(string.Create(CultureInfo.InvariantCulture, $"Content mismatch at offset {offset + (differ ? 0 : pnum)}!"));
            return false;
        }
        return true;
    }

    /// <summary>Checks that the part of the larger image past the smaller one's end reads as zeros.</summary>
    private static int CheckOverhang(QemuBlockStatus status, BlockDevice over, string overName, long offset, long progressBase,
        byte[] buf1, Printer w, QemuProgress bar)
    {
        while (offset < progressBase)
        {
            var (ret, chunk) = Status(status, over, offset, progressBase - offset, overName);
            if ((ret & QemuBlockStatus.Allocated) != 0 && (ret & QemuBlockStatus.Zero) == 0)
            {
                chunk = Math.Min(chunk, IoBufSize);
                int r = CheckEmpty(over, offset, (int)chunk, overName, buf1, w);
                if (r != 0)
                {
                    return r;
                }
            }
            offset += chunk;
            bar.Print((float)chunk / progressBase * 100, 100);
        }
        return 0;
    }

    private static BlockDevice Open(ToolContext ctx, string filename, string? fmt, bool imageOpts, bool forceShare)
    {
        try
        {
            if (imageOpts && fmt is not null)
            {
                throw new QimgException("--image-opts and --format are mutually exclusive");
            }
            return ImageArgs.Open(ctx, filename, fmt, imageOpts, noBacking: false, forceShare);
        }
        catch (ToolException e) when (e.ExitCode != 2)
        {
            throw new QimgException(e.Message, e.Hint, 2);
        }
    }

    private static (int Flags, long Length) Status(QemuBlockStatus status, BlockDevice dev, long offset, long bytes, string filename)
    {
        try
        {
            return status.Above(dev, offset, bytes);
        }
        catch (BlockIOException)
        {
            throw new QimgException($"Sector allocation test failed for {filename}", exitCode: 3);
        }
    }

    private static void Read(BlockDevice dev, long offset, Span<byte> buffer, string filename)
    {
        try
        {
            dev.Read(offset, buffer);
        }
        catch (BlockIOException e)
        {
            throw new QimgException(string.Create(CultureInfo.InvariantCulture,
                $"Error while reading offset {offset} of {filename}: {ErrnoText.Of(e.Errno)}"), exitCode: 4);
        }
    }

    /// <summary>check_empty_sectors: 0 when the range reads as zeros, 1 (after the mismatch line) when not.</summary>
    private static int CheckEmpty(BlockDevice dev, long offset, int bytes, string filename, byte[] buffer, Printer w)
    {
        Read(dev, offset, buffer.AsSpan(0, bytes), filename);
        long idx = FindNonZero(buffer.AsSpan(0, bytes));
        if (idx >= 0)
        {
            w.Line(string.Create(CultureInfo.InvariantCulture, $"Content mismatch at offset {offset + idx}!"));
            return 1;
        }
        return 0;
    }

    /// <summary>find_nonzero: the start of the first sector holding a non-zero byte, or -1.</summary>
    private static long FindNonZero(ReadOnlySpan<byte> buf)
    {
        int end = buf.Length / SectorSize * SectorSize;
        int i;
        for (i = 0; i < end; i += SectorSize)
        {
            if (buf.Slice(i, SectorSize).ContainsAnyExcept((byte)0))
            {
                return i;
            }
        }
        if (i < buf.Length && buf[end..].ContainsAnyExcept((byte)0))
        {
            return i;
        }
        return -1;
    }


    /// <summary>qprintf: stdout unless quiet.</summary>
    private sealed class Printer(ToolContext ctx, bool quiet)
    {
        public void Line(string text)
        {
            if (!quiet)
            {
                ctx.Out.Write(text + "\n");
            }
        }
    }
}
