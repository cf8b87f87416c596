using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qemu-img convert's target: the create options it builds, the image it creates (bdrv_create) and its opening.</summary>
public static class ConvertTarget
{
    /// <summary>Formats qemu-img knows but qimg cannot write.</summary>
    private static readonly HashSet<string> OtherQemuFormats =
        ["blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "dmg", "luks", "parallels", "qcow", "qed", "vdi", "vhdx", "vmdk", "vpc", "vvfat", "file"];

    /// <summary>bdrv_find_format for the output format; throws qemu-img's message for an unknown one.</summary>
    public static IReadOnlyList<OptDesc> FormatOptions(string format) => CreateOptionLists.ForFormat(format)
        ?? throw new QimgException(OtherQemuFormats.Contains(format)
            ? $"Format '{format}' is not supported by qimg (only qcow2 and raw)"
            : $"Unknown file format '{format}'");

    /// <summary>
    /// Builds the create options as img_convert does: the -o list, the size of all sources (overriding any size given),
    /// then -B and -F (add_old_style_options).
    /// </summary>
    public static QemuOpts BuildOptions(ToolContext ctx, string format, string? options, long size, string? backing, string? backingFmt)
    {
        IReadOnlyList<OptDesc> formatDescs = FormatOptions(format);
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
            if (format == "raw")
            {
                string prealloc = RawCreator.ParsePreallocation(opts.GetString("preallocation"));
                RawCreator.CheckExtentSizeHint(opts);
                RawCreator.Create(ctx, filename, size, prealloc);
            }
            else
            {
                CreateQcow2(ctx, filename, opts, size);
            }
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

    /// <summary>qcow2_co_create_opts as qimg create runs it: the empty file, the option checks, the engine's layout; the file is removed on failure.</summary>
    private static void CreateQcow2(ToolContext ctx, string filename, QemuOpts opts, long size)
    {
        RawCreator.CheckExtentSizeHint(opts);
        RawCreator.CreateEmpty(ctx, filename).Dispose();
        string path = ctx.Resolve(filename);
        try
        {
            Qcow2CreateValidator.CheckTypes(opts);
            Qcow2CreateOptions options = Qcow2CreateValidator.Validate(opts, size);
            try
            {
                Qcow2Image.Create(path, options);
            }
            catch (Exception e) when (e is not QimgException)
            {
                throw new QimgException(e.Message);
            }
        }
        catch
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // qemu ignores a failure to remove the half-made file too.
            }
            throw;
        }
    }

    /// <summary>Opens the target read-write (img_open / img_open_file) and says which file it is; throws "Could not open 'NAME': REASON".</summary>
    /// <remarks>noFlush: the target cache mode is unsafe (qemu-img convert's default), so nothing is synced to disk.</remarks>
    public static BlockDevice Open(ToolContext ctx, string filename, string? format, bool imageOpts, bool writeThrough, bool noFlush, out string file)
    {
        if (imageOpts && format is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        var options = new OpenOptions
        {
            Format = format,
            ReadOnly = false,
            WriteThrough = writeThrough,
            NoFlush = noFlush,
        }.ForTool(ctx);
        file = imageOpts ? ImageArgs.ApplyImageOpts(filename, options) : filename;
        return ImageArgs.OpenFile(ctx, file, options, warnProbedRaw: false, imageOpts ? filename : null);
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
