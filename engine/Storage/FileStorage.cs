using Microsoft.Win32.SafeHandles;

namespace Qcow2.Storage;

/// <summary>A host file as image storage, with QEMU's image locks on its own open file description.</summary>
public sealed class FileStorage : IStorage
{
    // The handle is taken once and used with positional I/O (pread/pwrite): FileStream's SafeFileHandle property
    // re-synchronises the stream position (one lseek) every time it is read.
    private readonly SafeFileHandle _handle;
    private readonly string _path;

    // The file length as the block layer keeps it (QEMU's total_sectors): read once with fstat, then updated where
    // this open grows or cuts the file; -1 when unknown (after a failed request, which may have grown it part way).
    private long _length = -1;

    /// <summary>Opens an existing file for reading, and for writing unless readOnly; with locking, keeps image locks
    /// (none are held until <see cref="ImageLock.Update"/> takes some).</summary>
    public FileStorage(string path, bool readOnly, bool locking = false)
        : this(path, HostFile.OpenHandle(path, write: !readOnly, create: false), readOnly, locking)
    {
    }

    private FileStorage(string path, SafeFileHandle handle, bool readOnly, bool locking)
        : this(path, handle, readOnly, locking && OfdLocks.Available ? new ImageLock(handle) : null)
    {
    }

    private FileStorage(string path, SafeFileHandle handle, bool readOnly, ImageLock? imageLock)
    {
        _path = path;
        ReadOnly = readOnly;
        _handle = handle;
        Lock = imageLock;
    }

    /// <summary>
    /// Creates a file, or empties an existing one, as the file driver's raw_co_create does: open without truncating,
    /// take the creator's locks (write and resize, resize not shared) and test them, and only then truncate; a file
    /// another process uses is left untouched and the lock error is thrown (<see cref="ImageOpenException"/>).
    /// displayName is the name the lock hint shows.
    /// </summary>
    public static FileStorage Create(string path, bool locking = true, string? displayName = null)
    {
        (SafeFileHandle handle, ImageLock? imageLock) = CreateLocked(path, locking, displayName ?? path);
        return new FileStorage(path, handle, false, imageLock);
    }

    /// <summary><see cref="Create"/> for callers that write the new file themselves: the handle keeps the creator's
    /// locks until it is closed.</summary>
    public static SafeFileHandle CreateFile(string path, string displayName, bool locking = true) =>
        CreateLocked(path, locking, displayName).Handle;

    private static (SafeFileHandle Handle, ImageLock? Lock) CreateLocked(string path, bool locking, string displayName)
    {
        SafeFileHandle handle = HostFile.OpenHandle(path, write: true, create: true);
        try
        {
            ImageLock? imageLock = locking && OfdLocks.Available ? new ImageLock(handle) : null;
            imageLock?.Update(BlockPermissions.Write | BlockPermissions.Resize, BlockPermissions.All & ~BlockPermissions.Resize, displayName);
            RandomAccess.SetLength(handle, 0);
            return (handle, imageLock);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The image locks of this open (null when locking is off or the host has no OFD locks).</summary>
    public ImageLock? Lock { get; }

    /// <inheritdoc/>
    public long Length => _length >= 0 ? _length : _length = RandomAccess.GetLength(_handle);

    /// <inheritdoc/>
    public bool ReadOnly { get; }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        StorageRequest.Check(offset, buffer.Length);
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(_handle, buffer[done..], offset + done);
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
        _writeGeneration++;
        try
        {
            RandomAccess.Write(_handle, data, offset);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IOException)
        {
            _length = -1;
            throw HostError(e);
        }
        if (data.Length > 0)
        {
            Grown(offset + data.Length);
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
        _writeGeneration++;
        try
        {
            HostFile.ZeroRange(_handle, offset, length);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IOException)
        {
            _length = -1;
            throw HostError(e);
        }
        if (length > 0)
        {
            Grown(offset + length);
        }
    }

    /// <inheritdoc/>
    public void SetLength(long length)
    {
        try
        {
            _length = -1;
            RandomAccess.SetLength(_handle, length);
            _length = length;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IOException)
        {
            throw HostError(e);
        }
    }

    /// <summary>A successful request that ended at end: the file now reaches at least that far.</summary>
    private void Grown(long end)
    {
        if (_length >= 0 && end > _length && end > 0)
        {
            _length = end;
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

    /// <summary>BDRV_O_NO_FLUSH (cache=unsafe): <see cref="Flush"/> does nothing.</summary>
    public bool NoFlush { get; init; }

    /// <inheritdoc/>
    public void Flush()
    {
        if (NoFlush)
        {
            return;
        }
        // bdrv_co_flush: nothing to do when nothing was written since the last successful flush.
        long generation = _writeGeneration;
        if (generation == _flushedGeneration)
        {
            return;
        }
        HostFile.DataSync(_handle);
        _flushedGeneration = generation;
    }

    private long _writeGeneration;
    private long _flushedGeneration;

    /// <inheritdoc/>
    public void Discard(long offset, long length)
    {
        if (!ReadOnly && length > 0)
        {
            _writeGeneration++;
            HostFile.PunchHole(_handle, offset, length);
        }
    }

    /// <inheritdoc/>
    public void Allocate(long offset, long length)
    {
        if (HostFile.Allocate(_handle, offset, length))
        {
            Grown(offset + length);
        }
        else if (Length < offset + length)
        {
            SetLength(offset + length);
        }
    }

    /// <inheritdoc/>
    public long AllocatedSize => HostFile.AllocatedBytes(_path, Length);

    /// <inheritdoc/>
    public void Dispose() => _handle.Dispose();
}
