using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>bdrv_create for the formats qimg writes: the one path qemu-img create and convert both take to a new image.</summary>
public static class FormatCreator
{
    /// <summary>Formats qemu-img 7.2 knows besides raw and qcow2 (none of which qimg can create or amend).</summary>
    public static readonly IReadOnlySet<string> OtherQemuFormats = new HashSet<string>
    {
        "blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "dmg", "luks", "parallels", "qcow", "qed", "vdi", "vhdx", "vmdk",
        "vpc", "vvfat", "file",
    };

    /// <summary>bdrv_find_format for a format to create; throws qemu-img's message for an unknown one.</summary>
    public static IReadOnlyList<OptDesc> FormatOptions(string format) => CreateOptionLists.ForFormat(format)
        ?? throw new QimgException(OtherQemuFormats.Contains(format)
            ? $"Format '{format}' is not supported by qimg (only qcow2 and raw)"
            : $"Unknown file format '{format}'");

    /// <summary>Creates a raw (raw_co_create_opts) or qcow2 (qcow2_co_create_opts) image of the given size from its options.</summary>
    public static void Create(ToolContext ctx, string filename, string format, QemuOpts opts, long size)
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

    /// <summary>qcow2_co_create_opts: creates the empty file, checks the options, then lets the engine lay out the image; removes the file on failure.</summary>
    private static void CreateQcow2(ToolContext ctx, string filename, QemuOpts opts, long size)
    {
        RawCreator.CheckExtentSizeHint(opts);
        RawCreator.CreateEmpty(ctx, filename).Dispose();
        string path = ctx.Resolve(filename);
        try
        {
            Qcow2CreateValidator.CheckTypes(opts);
            long rounded = size > long.MaxValue - (RawCreator.SectorSize - 1)
                ? long.MaxValue
                : (size + RawCreator.SectorSize - 1) / RawCreator.SectorSize * RawCreator.SectorSize;
            Qcow2CreateOptions options = Qcow2CreateValidator.Validate(opts, rounded);
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
            DeleteQuietly(path);
            throw;
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // qemu's bdrv_co_delete_file_noerr ignores failures too.
        }
    }
}
