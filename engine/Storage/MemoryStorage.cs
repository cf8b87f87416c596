namespace Qcow2.Storage;

/// <summary>
/// An in-memory store, for tests and scratch images: 64 KiB pages made when first written, so that growing the store
/// copies nothing, and a range never written (or discarded, or cut off and grown back) holds no memory and reads as
/// zeros. Its length is capped at what one array could hold (EFBIG beyond), as when it was one array.
/// </summary>
internal sealed class MemoryStorage : IStorage
{
    private const int PageBits = 16, PageSize = 1 << PageBits;

    private byte[]?[] _pages = [];
    private long _length;

    /// <summary>Creates an empty store, or one holding a copy of initial.</summary>
    public MemoryStorage(byte[]? initial = null, bool readOnly = false)
    {
        if (initial is not null)
        {
            SetLength(initial.Length);
            Store(0, initial);
        }
        ReadOnly = readOnly;
    }

    /// <inheritdoc/>
    public long Length => _length;

    /// <inheritdoc/>
    public bool ReadOnly { get; }

    /// <summary>A copy of the current contents.</summary>
    public byte[] ToArray()
    {
        var all = new byte[_length];
        Read(0, all);
        return all;
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        StorageRequest.Check(offset, buffer.Length);
        long end = Math.Min(offset + buffer.Length, _length);
        buffer[(int)Math.Max(0, end - offset)..].Clear();
        for (long p = offset; p < end;)
        {
            int at = (int)(p & (PageSize - 1));
            int n = (int)Math.Min(PageSize - at, end - p);
            Span<byte> dst = buffer.Slice((int)(p - offset), n);
            if (_pages[p >> PageBits] is { } page)
            {
                page.AsSpan(at, n).CopyTo(dst);
            }
            else
            {
                dst.Clear();
            }
            p += n;
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
        long end = checked(offset + data.Length);
        if (end > _length)
        {
            SetLength(end);
        }
        Store(offset, data);
    }

    private void Store(long offset, ReadOnlySpan<byte> data)
    {
        for (int done = 0; done < data.Length;)
        {
            long p = offset + done;
            int at = (int)(p & (PageSize - 1));
            int n = Math.Min(PageSize - at, data.Length - done);
            byte[] page = _pages[p >> PageBits] ??= new byte[PageSize];
            data.Slice(done, n).CopyTo(page.AsSpan(at));
            done += n;
        }
    }

    /// <inheritdoc/>
    public void SetLength(long length)
    {
        if (length > Array.MaxLength)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        long pages = (length + PageSize - 1) >> PageBits;
        if (length < _length)
        {
            // What is cut off reads as zeros if the store grows again.
            Array.Clear(_pages, (int)pages, (int)Math.Min(_pages.Length, ((_length + PageSize - 1) >> PageBits)) - (int)pages);
            int tail = (int)(length & (PageSize - 1));
            if (tail != 0 && _pages[pages - 1] is { } last)
            {
                last.AsSpan(tail).Clear();
            }
        }
        if (pages > _pages.Length)
        {
            Array.Resize(ref _pages, (int)Math.Max(pages, Math.Min(Array.MaxLength >> PageBits, 2L * _pages.Length + 1)));
        }
        _length = length;
    }

    /// <inheritdoc/>
    public void Flush() { }

    /// <inheritdoc/>
    public void Discard(long offset, long length)
    {
        long end = Math.Min(offset + length, _length);
        if (ReadOnly || offset >= end)
        {
            return;
        }
        for (long p = offset; p < end;)
        {
            int at = (int)(p & (PageSize - 1));
            int n = (int)Math.Min(PageSize - at, end - p);
            long index = p >> PageBits;
            if (n == PageSize)
            {
                _pages[index] = null;
            }
            else
            {
                _pages[index]?.AsSpan(at, n).Clear();
            }
            p += n;
        }
    }

    /// <inheritdoc/>
    public void Dispose() { }
}
