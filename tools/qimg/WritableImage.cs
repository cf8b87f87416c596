using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>img_open for the commands that write (rebase, commit): read-write, optionally without the backing chain.</summary>
public static class WritableImage
{
    /// <summary>Opens filename (or the --image-opts list) read-write; throws qemu-img's "Could not open" message.</summary>
    public static BlockDevice Open(ToolContext ctx, string filename, string? format, bool imageOpts, bool noBacking, bool writeThrough)
    {
        if (imageOpts && format is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        var options = new OpenOptions
        {
            Format = format,
            ReadOnly = false,
            NoBacking = noBacking,
            WriteThrough = writeThrough,
        }.ForTool(ctx);
        string file = imageOpts ? ImageArgs.ApplyImageOpts(filename, options) : filename;
        BlockDevice dev;
        try
        {
            dev = ImageOpener.Open(file, options);
        }
        catch (Exception e) when (e is not QimgException)
        {
            throw new QimgException($"Could not open '{file}': {e.Message}");
        }
        if (options.Format is null && dev is RawDevice)
        {
            ctx.Err.Write($"WARNING: Image format was not specified for '{file}' and probing guessed raw.\n"
                + "         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
                + "         Specify the 'raw' format explicitly to remove the restrictions.\n");
        }
        return dev;
    }
}
