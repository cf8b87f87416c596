using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg resize: qemu-img 7.2's img_resize (grow, or shrink with --shrink, the virtual size).</summary>
public static class ResizeCommand
{
    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        .. CommandOptions.Common,
        new("preallocation", ArgKind.Required, OptionCode.Preallocation),
        new("shrink", ArgKind.None, OptionCode.Shrink),
    ];

    private static readonly IReadOnlyList<OptDesc> SizeOption = [new("size", OptType.Size, "Virtual disk size")];

    /// <summary>Runs the command; args[0] is "resize".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        // The size is taken off the end first so that a negative size is not read as an option.
        if (args.Length < 3)
        {
            throw new QimgUsageException("Not enough arguments");
        }
        string size = args[^1];
        string prealloc = "off";
        bool shrink = false;
        var g = new CommandOptions(args[..^1], ":f:hq", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case OptionCode.Preallocation:
                    prealloc = g.OptArg!;
                    if (prealloc is not ("off" or "metadata" or "falloc" or "full"))
                    {
                        throw new QimgException($"Invalid preallocation mode '{prealloc}'");
                    }
                    break;
                case OptionCode.Shrink:
                    shrink = true;
                    break;
            }
        }
        if (g.Operands.Count != 1)
        {
            throw new QimgUsageException("Expecting image file name and size");
        }
        string filename = g.Operands[0];

        long n = ParseSize(size, ctx, out int relative);
        using BlockDevice dev = SnapshotCommand.OpenImage(ctx, filename, g.Format, g.ImageOpts, writable: true, forceShare: false, resize: true);
        // blk_getlength: the size in whole sectors.
        long current = dev is Qcow2Image ? dev.Size & ~511L : dev.Size;
        long total = relative != 0 ? unchecked(current + n * relative) : n;
        if (total <= 0)
        {
            throw new QimgException("New image size must be positive");
        }
        if (total <= current && prealloc != "off")
        {
            throw new QimgException("Preallocation can only be used for growing images");
        }
        if (total < current && !shrink)
        {
            ctx.Err.Write($"{QimgTool.Name}: Use the --shrink option to perform a shrink operation.\n");
            QimgNumbers.WarnTo(ctx.Err)("Shrinking an image will delete all data beyond the shrunken image's end. "
                + "Before performing such an operation, make sure there is no important data there.");
            return 1;
        }
        if (ApplyResize(ctx, dev, total, prealloc, shrink) != 0)
        {
            return 1;
        }
        if (!g.Quiet)
        {
            ctx.Out.Write("Image resized.\n");
        }
        return 0;
    }

    /// <summary>The size operand as QEMU's size option reads it; relative is 1 or -1 for a leading '+' or '-'.</summary>
    private static long ParseSize(string size, ToolContext ctx, out int relative)
    {
        relative = 0;
        if (size.StartsWith('+'))
        {
            relative = 1;
            size = size[1..];
        }
        else if (size.StartsWith('-'))
        {
            relative = -1;
            size = size[1..];
        }
        var param = new QemuOpts(SizeOption) { Warn = QimgNumbers.WarnTo(ctx.Err) };
        param.Set("size", size);
        return unchecked((long)param.Get("size")!.Number);

    }

    /// <summary>Resizes the opened image; returns 1 after reporting the failure, 0 on success.</summary>
    private static int ApplyResize(ToolContext ctx, BlockDevice dev, long total, string prealloc, bool shrink)
    {
        try
        {
            if (dev is Qcow2Image image)
            {
                image.Truncate(total, prealloc);
            }
            else if (prealloc != "off")
            {
                throw new QimgException($"qimg: preallocation={prealloc} for {dev.FormatName} images is not supported");
            }
            else
            {
                dev.Resize(total, shrink);
            }
        }
        catch (ImageChangeException e)
        {
            // img_resize reports the failure before blk_unref closes the image (and reports what closing fails at).
            ctx.Err.Write($"{QimgTool.Name}: {e.Message}\n{e.Hint}");
            return 1;
        }
        catch (BlockIOException e)
        {
            ctx.Err.Write($"{QimgTool.Name}: {e.Message}\n");
            return 1;
        }
        return 0;
    }
}
