namespace Qcow2.Storage;

/// <summary>An in-memory store, for tests and scratch images.</summary>
internal sealed class MemoryStorage : IStorage
{
    private byte[] _data;
    private long _length;

    /// <summary>Creates an empty store, or one holding a copy of initial.</summary>
    public MemoryStorage(byte[]? initial = null, bool readOnly = false)
    {
        _data = initial is null ? [] : (byte[])initial.Clone();
        _length = _data.Length;
        ReadOnly = readOnly;
    }

    /// <inheritdoc/>
    public long Length => _length;

    /// <inheritdoc/>
    public bool ReadOnly { get; }

    /// <summary>A copy of the current contents.</summary>
    public byte[] ToArray() => _data.AsSpan(0, (int)_length).ToArray();

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        StorageRequest.Check(offset, buffer.Length);
        buffer.Clear();
        if (offset >= _length)
        {
            return;
        }
        long n = Math.Min(buffer.Length, _length - offset);
        _data.AsSpan((int)offset, (int)n).CopyTo(buffer);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (ReadOnly)
        {
            throw new BlockIOException(Errno.EROFS);
        }
        StorageRequest.Check(offset, data.Length);
        long end = checked(offset + data.Length);
        if (end > _length)
        {
            SetLength(end);
        }
        data.CopyTo(_data.AsSpan((int)offset));
    }

    /// <inheritdoc/>
    public void SetLength(long length)
    {
        if (length > Array.MaxLength)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        if (length > _data.Length)
        {
            Array.Resize(ref _data, (int)Math.Max(length, Math.Min(Array.MaxLength, (long)_data.Length * 2)));
        }
        else if (length < _length)
        {
            _data.AsSpan((int)length, (int)(_length - length)).Clear();
        }
        _length = length;
    }

    /// <inheritdoc/>
    public void Flush() { }

    /// <inheritdoc/>
    public void Discard(long offset, long length)
    {
        long end = Math.Min(offset + length, _length);
        if (!ReadOnly && offset < end)
        {
            _data.AsSpan((int)offset, (int)(end - offset)).Clear();
        }
    }

    /// <inheritdoc/>
    public void Dispose() { }
}
