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
        StorageRequest.Check(offset, buffer.Length);
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
        StorageRequest.Check(offset, data.Length);
        try
        {
            RandomAccess.Write(_stream.SafeFileHandle, data, offset);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IOException)
        {
            throw HostError(e);
        }
    }

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length)
    {
        if (ReadOnly)
        {
            throw new BlockIOException(Errno.EROFS);
        }
        StorageRequest.Check(offset, length);
        try
        {
            HostFile.ZeroRange(_stream.SafeFileHandle, offset, length);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IOException)
        {
            throw HostError(e);
        }
    }

    /// <inheritdoc/>
    public void SetLength(long length)
    {
        try
        {
            _stream.SetLength(length);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IOException)
        {
            throw HostError(e);
        }
    }

    /// <summary>The errno QEMU's file driver reports for a host failure: EFBIG past the file system's limit, ENOSPC, else EIO.</summary>
    private static BlockIOException HostError(Exception e)
    {
        const int ENOSPC = 28, EFBIG = 27;
        int code = e.HResult & 0xffff;
        return e switch
        {
            BlockIOException b => b,
            ArgumentOutOfRangeException => new BlockIOException(Errno.EFBIG),
            _ => new BlockIOException(code == ENOSPC ? Errno.ENOSPC : code == EFBIG ? Errno.EFBIG : Errno.EIO),
        };
    }

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
    public void Allocate(long offset, long length)
    {
        if (!HostFile.Allocate(_stream.SafeFileHandle, offset, length) && Length < offset + length)
        {
            SetLength(offset + length);
        }
    }

    /// <inheritdoc/>
    public long AllocatedSize => HostFile.AllocatedBytes(_path, Length);

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();
}
