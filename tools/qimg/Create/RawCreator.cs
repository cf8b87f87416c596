using Qcow2.Cli;
using Qcow2.Storage;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// Creates a raw image as qemu's file driver does (raw_co_create): truncate to zero, set the size rounded up to
/// 512 bytes, and write the first block (512 bytes, or 4 KiB for files of at least 4 KiB) so that the result
/// occupies the same disk space as qemu-img's; preallocation=falloc|full writes every block.
/// </summary>
public static class RawCreator
{
    /// <summary>Bytes qemu writes at offset 0 of a new file for its alignment probing (MAX_BLOCKSIZE).</summary>
    public const int FirstBlockSize = 4096;

    /// <summary>The sector size that file sizes are rounded up to.</summary>
    public const int SectorSize = 512;

    /// <summary>Parses the file driver's preallocation mode as raw_co_create_opts does.</summary>
    public static string ParsePreallocation(string? text) => text switch
    {
        null => "off",
        "off" or "metadata" or "falloc" or "full" => text,
        _ => throw new QimgException($"invalid parameter value: {text}"),
    };

    /// <summary>Checks the file driver's extent size hint option.</summary>
    public static void CheckExtentSizeHint(QemuOpts opts)
    {
        if (opts.Get("extent_size_hint") is OptValue v && v.Number > uint.MaxValue)
        {
            throw new QimgException("Extent size hint is too large");
        }
    }

    /// <summary>Creates (or empties) the file; throws "Could not create 'NAME': REASON".</summary>
    public static FileStream CreateEmpty(ToolContext ctx, string filename)
    {
        string path = ctx.Resolve(filename);
        try
        {
            if (Directory.Exists(path))
            {
                throw new IOException("Is a directory", 21);
            }
            return new FileStream(FileStorage.CreateFile(path, filename), FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new QimgException($"Could not create '{filename}': {HostErrors.Text(e)}");
        }
        catch (ImageOpenException e)
        {
            // The file's locks: another process (or another open here) uses it; the file is left as it was.
            throw new QimgException(e.Message);
        }
    }

    /// <summary>Creates the raw image file of the given size (preallocation off, falloc or full).</summary>
    public static void Create(ToolContext ctx, string filename, long size, string prealloc)
    {
        using FileStream fs = CreateEmpty(ctx, filename);
        if (prealloc is not ("off" or "falloc" or "full"))
        {
            throw new QimgException($"Unsupported preallocation mode: {prealloc}");
        }
        if (size > long.MaxValue - (SectorSize - 1))
        {
            // qemu's rounded-up size no longer fits off_t, and ftruncate refuses it.
            throw new QimgException($"Could not resize file: {ErrnoText.Of(Qcow2.Errno.EINVAL)}");
        }
        long length = (size + SectorSize - 1) / SectorSize * SectorSize;
        try
        {
            fs.SetLength(length);
        }
        catch (ArgumentOutOfRangeException)
        {
            // .NET reports the host's EFBIG this way; qemu-img words it as below.
            throw new QimgException("The image size is too large for file format 'raw'");
        }
        catch (IOException e)
        {
            if (HostErrors.Errno(e) == HostErrors.Efbig)
            {
                throw new QimgException("The image size is too large for file format 'raw'");
            }
            throw new QimgException($"Could not resize file: {HostErrors.Text(e)}");
        }
        if (prealloc == "off")
        {
            if (length > 0)
            {
                AllocateFirstBlock(fs, length);
            }
            return;
        }
        var zeros = new byte[65536];
        fs.Position = 0;
        for (long left = length; left > 0;)
        {
            int n = (int)Math.Min(left, zeros.Length);
            fs.Write(zeros, 0, n);
            left -= n;
        }
        fs.Flush(flushToDisk: true);
    }

    private static void AllocateFirstBlock(FileStream fs, long length)
    {
        try
        {
            int n = length < FirstBlockSize ? SectorSize : FirstBlockSize;
            fs.Position = 0;
            fs.Write(new byte[n], 0, n);
        }
        catch (IOException)
        {
            // qemu ignores failures here: the block only speeds up later alignment probing.
        }
    }
}
