using Qcow2.Block;
using Qcow2.Cli;
using Qcow2.Format;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg bitmap: qemu-img 7.2's img_bitmap (add, remove, clear, enable, disable or merge a persistent bitmap).</summary>
public static class BitmapCommand
{
    /// <summary>The actions, each a long option (only --merge takes an argument, the source bitmap), in qemu-img's order.</summary>
    private static readonly string[] Actions = ["add", "remove", "clear", "enable", "disable", "merge"];

    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        .. CommandOptions.Common,
        .. Actions.Select((op, i) => new LongOption(op, op == "merge" ? ArgKind.Required : ArgKind.None, OptionCode.FirstBitmapAction + i)),
        new("granularity", ArgKind.Required, 'g'),
        new("source-file", ArgKind.Required, 'b'),
        new("source-format", ArgKind.Required, 'F'),
    ];

    /// <summary>One requested action, in command-line order; Source is the merge source bitmap.</summary>
    private sealed record BitmapAction(string Op, string? Source = null);

    /// <summary>Runs the command; args[0] is "bitmap".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        long granularity = 0;
        var actions = new List<BitmapAction>();
        var g = new CommandOptions(args, ":b:f:F:g:h", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'g':
                    granularity = QimgNumbers.Cvtnum("granularity", g.OptArg!, QimgNumbers.WarnTo(ctx.Err));
                    break;
                case >= OptionCode.FirstBitmapAction and < OptionCode.FirstBitmapAction + OptionCode.BitmapActionCount:
                    string op = Actions[c - OptionCode.FirstBitmapAction];
                    actions.Add(new(op, op == "merge" ? g.OptArg : null));
                    break;
            }
        }
        if (actions.Count == 0)
        {
            throw new QimgException("Need at least one of --add, --remove, --clear, --enable, --disable, or --merge");
        }
        if (granularity != 0 && !actions.Any(a => a.Op == "add"))
        {
            throw new QimgException("granularity only supported with --add");
        }
        (string? srcFile, string? srcFmt) = (g.OtherImage, g.OtherFormat);
        if (srcFmt is not null && srcFile is null)
        {
            throw new QimgException("-F only supported with -b");
        }
        if (srcFile is not null && !actions.Any(a => a.Op == "merge"))
        {
            throw new QimgException("Merge bitmap source file only supported with --merge");
        }
        if (g.Operands.Count != 2)
        {
            throw new QimgException("Expecting filename and bitmap name");
        }
        string bitmap = g.Operands[1];
        using BlockDevice dev = Open(ctx, g.Operands[0], g.Format, g.ImageOpts, writable: true);
        using BlockDevice? src = srcFile is null ? null : Open(ctx, srcFile, srcFmt, imageOpts: false, writable: false);
        foreach (var act in actions)
        {
            try
            {
                Apply(dev, src ?? dev, act, bitmap, granularity);
            }
            catch (BitmapOperationException e)
            {
                throw new QimgException($"Operation {act.Op} on bitmap {bitmap} failed: {e.Message}", e.Hint);
            }
        }
        return 0;
    }

    private static void Apply(BlockDevice dev, BlockDevice src, BitmapAction act, string bitmap, long granularity)
    {
        if (dev is not Qcow2Image image)
        {
            // Only qcow2 stores persistent bitmaps; other formats have none to find.
            throw act.Op == "add"
                ? new BitmapOperationException($"Can't store persistent bitmaps to {NodeName(dev)}: {ErrnoText.Of(Errno.ENOTSUP)}")
                : new BitmapOperationException($"Dirty bitmap '{bitmap}' not found");
        }
        switch (act.Op)
        {
            case "add":
                // QMP's granularity is a uint32: qemu-img passes the parsed value truncated, and 0 means the default.
                image.AddPersistentBitmap(bitmap, granularity != 0 ? unchecked((uint)granularity) : null);
                break;
            case "remove":
                image.RemoveBitmap(bitmap);
                break;
            case "clear":
                image.ClearBitmap(bitmap);
                break;
            case "enable":
                image.SetBitmapEnabled(bitmap, true);
                break;
            case "disable":
                image.SetBitmapEnabled(bitmap, false);
                break;
            case "merge":
                if (src is not Qcow2Image source)
                {
                    throw new BitmapOperationException($"Dirty bitmap '{act.Source}' not found");
                }
                image.MergeBitmap(bitmap, ReferenceEquals(source, image) ? null : source, act.Source!);
                break;
        }
    }

    private static string NodeName(BlockDevice dev) => $"#block{Math.Abs(dev.GetHashCode()) % 1000:D3}";

    /// <summary>img_open with BDRV_O_NO_BACKING: the image to change read-write, the merge source read-only.</summary>
    private static BlockDevice Open(ToolContext ctx, string filename, string? format, bool imageOpts, bool writable)
    {
        var options = new OpenOptions
        {
            Format = format,
            ReadOnly = !writable,
            NoBacking = true,
        }.ForTool(ctx);
        if (imageOpts && format is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        string file = imageOpts ? ImageArgs.ApplyImageOpts(filename, options) : filename;
        return ImageArgs.OpenFile(ctx, file, options, warnProbedRaw: writable, imageOpts ? filename : null);
    }
}
