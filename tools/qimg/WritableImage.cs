using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>img_open for the commands that write (rebase, commit, convert's and dd's targets): read-write, optionally without the backing chain.</summary>
public static class WritableImage
{
    /// <summary>Opens filename (or the --image-opts list) read-write; throws qemu-img's "Could not open" message.</summary>
    public static BlockDevice Open(ToolContext ctx, string filename, string? format, bool imageOpts, bool noBacking, bool writeThrough,
        bool noFlush = false) =>
        Open(ctx, filename, format, imageOpts, noBacking, writeThrough, noFlush, warnProbedRaw: true, out _);

    /// <summary>
    /// Opens filename (or the --image-opts list) read-write and says which file it is; with warnProbedRaw, a format
    /// probed as raw gets QEMU's warning about block 0. Throws qemu-img's "Could not open" message.
    /// </summary>
    public static BlockDevice Open(ToolContext ctx, string filename, string? format, bool imageOpts, bool noBacking, bool writeThrough,
        bool noFlush, bool warnProbedRaw, out string file, IReadOnlyDictionary<string, string>? extraOptions = null)
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
            NoFlush = noFlush,
        }.ForTool(ctx);
        foreach (var (k, v) in extraOptions ?? new Dictionary<string, string>())
        {
            options.Options[k] = v;
        }
        file = imageOpts ? ImageArgs.ApplyImageOpts(filename, options) : filename;
        return ImageArgs.OpenFile(ctx, file, options, warnProbedRaw, imageOpts ? filename : null);
    }
}
