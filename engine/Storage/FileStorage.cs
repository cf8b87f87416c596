namespace Qcow2.Storage;

/// <summary>A host file as image storage.</summary>
public sealed class FileStorage : IStorage
{
    private readonly FileStream _stream;
    private readonly string _path;

    /// <summary>Opens an existing file for reading, and for writing unless readOnly.</summary>
    public FileStorage(string path, bool readOnly)
    {
        _path = path;
        ReadOnly = readOnly;
        _stream = new FileStream(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite,
            FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.RandomAccess);
    }

    /// <summary>Creates (or truncates) a file and opens it read-write.</summary>
    public static FileStorage Create(string path)
    {
        using (new FileStream(path, FileMode.Create, FileAccess.ReadWrite)) { }
        return new FileStorage(path, false);
    }

    /// <inheritdoc/>
    public long Length => _stream.Length;

    /// <inheritdoc/>
    public bool ReadOnly { get; }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(_stream.SafeFileHandle, buffer[done..], offset + done);
            if (n <= 0)
            {
                buffer[done..].Clear();
                return;
            }
            done += n;
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (ReadOnly)
        {
            throw new BlockIOException(Errno.EROFS);
        }
        RandomAccess.Write(_stream.SafeFileHandle, data, offset);
    }

    /// <inheritdoc/>
    public void SetLength(long length) => _stream.SetLength(length);

    /// <inheritdoc/>
    public void Flush() => _stream.Flush(true);

    /// <inheritdoc/>
    public void Discard(long offset, long length)
    {
        if (!ReadOnly && length > 0)
        {
            HostFile.PunchHole(_stream.SafeFileHandle, offset, length);
        }
    }

    /// <inheritdoc/>
    public long AllocatedSize => HostFile.AllocatedBytes(_path, Length);

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();
}
