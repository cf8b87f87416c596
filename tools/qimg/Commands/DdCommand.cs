using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg dd: qemu-img dd's operands, checks and messages; creates the output (raw or qcow2) and copies block by block.</summary>
public static class DdCommand
{
    /// <summary>Runs the command; args[0] is "dd".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        string outFormat = "raw";
        var g = new CommandOptions(args, ":hf:O:U", CommandOptions.CommonAndForceShare, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'O':
                    outFormat = g.OptArg!;
                    break;
            }
        }
        DdOperands dd = DdOperands.Parse(ctx, g.Operands);
        if (dd.Input is null || dd.Output is null)
        {
            throw new QimgException("Must specify both input and output files");
        }
        return Copy(ctx, dd, g.Format, g.ImageOpts, outFormat, g.ForceShare);
    }

    private static int Copy(ToolContext ctx, DdOperands dd, string? format, bool imageOpts, string outFormat, bool forceShare)
    {
        if (imageOpts && format is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        using BlockDevice input = ImageArgs.Open(ctx, dd.Input!, format, imageOpts, noBacking: false, forceShare);
        CheckOutputFormat(outFormat);
        long size = ChainStatus.QemuLength(input);
        long bs = dd.BlockSize;
        if (dd.Count is long count && count <= long.MaxValue / bs && count * bs < size)
        {
            // qemu-img takes count as the end of the copy, counted from the start of the input, not from skip.
            size = count * bs;
        }
        bool skipPastEnd = dd.Skip is long s && (s > long.MaxValue / bs || size < bs * s);
        long start = dd.Skip is long skip && !skipPastEnd ? skip * bs : 0;
        try
        {
            CreateCommand.ImgCreate(ctx, new CreateCommand.CreateRequest(
                dd.Output!, outFormat, null, null, null, skipPastEnd ? 0 : size - start, NoBacking: false, Quiet: true));
        }
        catch (ToolException e) when (e is not QimgUsageException)
        {
            throw new QimgException($"{dd.Output}: error while creating output image: {e.Message}", e.Hint, e.ExitCode);
        }
        using BlockDevice output = ConvertTarget.Open(ctx, dd.Output!, outFormat, imageOpts: false, writeThrough: false, noFlush: false, createOpts: null, out _);
        if (skipPastEnd)
        {
            // Like dd(1): an empty output and a complaint, but success.
            ctx.Err.Write($"{QimgTool.Name}: {dd.Input}: cannot skip to specified offset\n");
            start = size;
        }
        var buf = new byte[bs];
        for (long inPos = start, outPos = 0; inPos < size;)
        {
            int bytes = (int)Math.Min(bs, size - inPos);
            Span<byte> chunk = buf.AsSpan(0, bytes);
            try
            {
                ReadPadded(input, inPos, chunk);
            }
            catch (BlockIOException e)
            {
                throw new QimgException($"error while reading from input image file: {ErrnoText.Of(e.Errno)}");
            }
            inPos += bytes;
            try
            {
                output.Write(outPos, chunk);
            }
            catch (BlockIOException e)
            {
                throw new QimgException($"error while writing to output image file: {ErrnoText.Of(e.Errno)}");
            }
            outPos += bytes;
        }
        output.Flush();
        return 0;
    }

    /// <summary>Reads as the block layer does: a raw file's last partial sector reads as zeros past its end.</summary>
    private static void ReadPadded(BlockDevice dev, long offset, Span<byte> buffer)
    {
        long have = Math.Clamp(dev.Size - offset, 0, buffer.Length);
        dev.Read(offset, buffer[..(int)have]);
        buffer[(int)have..].Clear();
    }

    /// <summary>bdrv_find_format and the creation check for -O; "Unknown file format" carries no name in dd.</summary>
    private static void CheckOutputFormat(string outFormat)
    {
        if (!QemuFormatNames.IsKnown(outFormat))
        {
            throw new QimgException("Unknown file format");
        }
        if (QemuCreatableFormats.LacksCreateOptions(outFormat))
        {
            throw new QimgException($"Format driver '{outFormat}' does not support image creation");
        }
        if (CreateOptionLists.ForFormat(outFormat) is null)
        {
            throw new QimgException($"Format '{outFormat}' is not supported by qimg (only qcow2, raw and luks)");
        }
    }
}
