using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qemu-img convert's target: the create options it builds, the image it creates (bdrv_create) and its opening.</summary>
public static class ConvertTarget
{
    /// <summary>
    /// Builds the create options as img_convert does: the -o list, the size of all sources (overriding any size given),
    /// then -B and -F (add_old_style_options).
    /// </summary>
    public static QemuOpts BuildOptions(ToolContext ctx, string format, string? options, long size, string? backing, string? backingFmt)
    {
        IReadOnlyList<OptDesc> formatDescs = FormatCreator.FormatOptions(format);
        var opts = new QemuOpts(CreateOptionLists.Merge(formatDescs)) { Warn = QimgNumbers.WarnTo(ctx.Err) };
        if (options is not null)
        {
            opts.Parse(options);
        }
        opts.SetNumber("size", size);
        bool hasBacking = formatDescs.Any(d => d.Name == "backing_file");
        if (backing is not null)
        {
            if (!hasBacking)
            {
                throw new QimgException($"Backing file not supported for file format '{format}'");
            }
            opts.Set("backing_file", backing);
        }
        if (backingFmt is not null)
        {
            if (!hasBacking)
            {
                throw new QimgException($"Backing file format not supported for file format '{format}'");
            }
            opts.Set("backing_fmt", backingFmt);
        }
        return opts;
    }

    /// <summary>bdrv_create for raw or qcow2 (no "Formatting" line); throws "OUT: error while converting FMT: REASON".</summary>
    public static void Create(ToolContext ctx, string filename, string format, QemuOpts opts)
    {
        long size = (long)opts.Get("size")!.Number;
        try
        {
            FormatCreator.Create(ctx, filename, format, opts, size);
        }
        catch (ToolException e) when (e.Message.StartsWith(TooLarge, StringComparison.Ordinal))
        {
            // Only qemu-img create (bdrv_img_create) rewords EFBIG as "too large"; convert prints the driver's error.
            string efbig = ErrnoText.Of(Errno.EFBIG);
            string reason = format == "raw" ? $"Could not resize file: {efbig}" : $"Could not resize image: Failed to grow the L1 table: {efbig}";
            throw new QimgException($"{filename}: error while converting {format}: {reason}");
        }
        catch (ToolException e)
        {
            throw new QimgException($"{filename}: error while converting {format}: {e.Message}", e.Hint, e.ExitCode);
        }
    }

    /// <summary>How qemu-img create words a target size the host or the L1 table limit refuses (EFBIG).</summary>
    private const string TooLarge = "The image size is too large for file format";

    /// <summary>Opens the target read-write (img_open / img_open_file) and says which file it is; throws "Could not open 'NAME': REASON".</summary>
    /// <remarks>noFlush: the target cache mode is unsafe (qemu-img convert's default), so nothing is synced to disk.</remarks>
    /// <remarks>createOpts: the options the target was just created with, whose key secrets the open takes.</remarks>
    public static BlockDevice Open(ToolContext ctx, string filename, string? format, bool imageOpts, bool writeThrough, bool noFlush,
        QemuOpts? createOpts, out string file) =>
        WritableImage.Open(ctx, filename, format, imageOpts, noBacking: false, writeThrough, noFlush, warnProbedRaw: false, out file,
            KeySecrets(createOpts));

    /// <summary>img_add_key_secrets: the create options named key-secret (luks) or ending in .key-secret (encrypt.key-secret
    /// of qcow2), passed on to the open of the new target so that it can be unlocked.</summary>
    private static Dictionary<string, string>? KeySecrets(QemuOpts? opts)
    {
        if (opts is null)
        {
            return null;
        }
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (OptDesc d in opts.Descs)
        {
            if ((d.Name == "key-secret" || d.Name.EndsWith(".key-secret", StringComparison.Ordinal)) && opts.GetString(d.Name) is { } id)
            {
                secrets[d.Name] = id;
            }
        }
        return secrets;
    }

    /// <summary>qcow2_co_pwritev_compressed with no data: pads the file to a whole sector, as the last compressed write does.</summary>
    public static void AlignCompressedEnd(ToolContext ctx, string filename)
    {
        using var fs = new FileStream(ctx.Resolve(filename), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        long rounded = (fs.Length + ConvertSectors.SectorSize - 1) / ConvertSectors.SectorSize * ConvertSectors.SectorSize;
        if (rounded != fs.Length)
        {
            fs.SetLength(rounded);
        }
    }
}
