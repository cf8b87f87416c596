namespace Qcow2.Tools.Mkimage;

/// <summary>The image file as plain bytes: mkimage never opens it through the engine, so broken images stay reachable.</summary>
internal sealed class ImageFile : IDisposable
{
    private readonly FileStream _stream;

    private ImageFile(FileStream stream, string displayName)
    {
        _stream = stream;
        DisplayName = displayName;
    }

    /// <summary>The file name as given on the command line.</summary>
    public string DisplayName { get; }

    /// <summary>Current length of the file in bytes.</summary>
    public long Length => _stream.Length;

    /// <summary>Opens the file read-only or read-write, turning failures into mkimage's error message.</summary>
    public static ImageFile Open(string path, string displayName, bool writable)
    {
        try
        {
            var stream = new FileStream(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read,
                FileShare.ReadWrite | FileShare.Delete);
            return new ImageFile(stream, displayName);
        }
        catch (FileNotFoundException)
        {
            throw new MkimageException($"Could not open '{displayName}': No such file or directory");
        }
        catch (DirectoryNotFoundException)
        {
            throw new MkimageException($"Could not open '{displayName}': No such file or directory");
        }
        catch (UnauthorizedAccessException)
        {
            throw new MkimageException($"Could not open '{displayName}': Permission denied");
        }
        catch (IOException e)
        {
            throw new MkimageException($"Could not open '{displayName}': {e.Message}");
        }
    }

    /// <summary>Reads up to count bytes at offset; the result is shorter when the file ends first.</summary>
    public byte[] ReadAvailable(long offset, int count)
    {
        if (offset < 0 || offset >= Length || count <= 0)
        {
            return [];
        }
        int n = (int)Math.Min(count, Length - offset);
        var buf = new byte[n];
        _stream.Position = offset;
        _stream.ReadExactly(buf);
        return buf;
    }

    /// <summary>Reads count bytes at offset, with zeros for the part past the end of the file.</summary>
    public byte[] ReadPadded(long offset, int count)
    {
        var buf = new byte[count];
        ReadAvailable(offset, count).CopyTo(buf, 0);
        return buf;
    }

    /// <summary>Reads exactly count bytes at offset, or fails naming what was being read.</summary>
    public byte[] ReadExact(long offset, long count, string what)
    {
        if (offset < 0 || count < 0 || offset > Length - count)
        {
            throw new MkimageException(
                $"{what} at 0x{(ulong)offset:x} ({count} bytes) lies beyond the end of the file (size 0x{Length:x})");
        }
        return ReadAvailable(offset, (int)count);
    }

    /// <summary>Writes bytes at offset (extending the file if the offset is past its end, as dd conv=notrunc does).</summary>
    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        _stream.Position = offset;
        _stream.Write(bytes);
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        _stream.Flush();
        _stream.Dispose();
    }
}
