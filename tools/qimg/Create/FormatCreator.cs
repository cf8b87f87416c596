using Qcow2.Block;
using Qcow2.Cli;
using Qcow2.Crypto;

namespace Qcow2.Tools.Qimg;

/// <summary>bdrv_create for the formats qimg writes: the one path qemu-img create and convert both take to a new image.</summary>
public static class FormatCreator
{
    /// <summary>bdrv_find_format for a format to create, then its creation options; throws qemu-img's message for an
    /// unknown driver or one that cannot create, and names the ones qimg does not write.</summary>
    public static IReadOnlyList<OptDesc> FormatOptions(string format) => CreateOptionLists.ForFormat(format)
        ?? throw new QimgException(!QemuFormatNames.IsKnown(format) ? $"Unknown file format '{format}'"
            : QemuCreatableFormats.LacksCreateOptions(format) ? $"Format driver '{format}' does not support image creation"
            : $"Format '{format}' is not supported by qimg (only qcow2, raw and luks)");

    /// <summary>Creates a raw (raw_co_create_opts, which is the file protocol's create) or qcow2 (qcow2_co_create_opts)
    /// image of the given size from its options.</summary>
    public static void Create(ToolContext ctx, string filename, string format, QemuOpts opts, long size)
    {
        if (format is "raw" or "file")
        {
            string prealloc = RawCreator.ParsePreallocation(opts.GetString("preallocation"));
            RawCreator.CheckExtentSizeHint(opts);
            RawCreator.Create(ctx, filename, size, prealloc);
        }
        else if (format == "luks")
        {
            CreateLuks(ctx, filename, opts, size);
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
            if (options.DataFile is not null)
            {
                // qcow2_co_create_opts creates the data file as a file of its own, named as given (relative to the working directory).
                RawCreator.CreateEmpty(ctx, options.DataFile).Dispose();
                options.DataFilePath = ctx.Resolve(options.DataFile);
            }
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

    /// <summary>block_crypto_co_create_opts_luks: the crypto options and the secret checked, the file created (with the
    /// file protocol's preallocation; metadata counts as off, as block/crypto.c turns it off), then the LUKS area written;
    /// the file is removed on failure.</summary>
    private static void CreateLuks(ToolContext ctx, string filename, QemuOpts opts, long size)
    {
        string prealloc = RawCreator.ParsePreallocation(opts.GetString("preallocation"));
        RawCreator.CheckExtentSizeHint(opts);
        RawCreator.CreateEmpty(ctx, filename).Dispose();
        string path = ctx.Resolve(filename);
        try
        {
            EncryptionCreate e = EncryptionOptions.ParseLuks(opts);
            try
            {
                LuksDevice.Create(path, new Crypto.LuksCreateParams(e.Password, e.Spec, e.IterTimeMs), size,
                    preallocate: prealloc is "falloc" or "full");
            }
            catch (Exception x) when (x is not QimgException)
            {
                throw new QimgException(x.Message);
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
