namespace Qcow2.Storage;

/// <summary>One request an <see cref="OverlayStorage"/> held back, in issue order.</summary>
internal sealed record HeldRequest(HeldRequestKind Kind, long Offset, byte[] Data, long Length);

/// <summary>The kinds of request an overlay holds back.</summary>
internal enum HeldRequestKind
{
    Write,
    SetLength,
    Discard,
    Flush,
}

/// <summary>
/// A store that keeps every change in memory over an untouched inner store: reads see the changes, and the requests
/// are kept in order, so that the caller can decide afterwards in which order (and behind which barriers) they reach
/// the inner store. Debug events still go to the inner store.
/// </summary>
internal sealed class OverlayStorage(IStorage inner) : IStorage
{
    private const int PageBits = 12;
    private const int PageSize = 1 << PageBits;

    /// <summary>
    /// The pages the overlay holds. A page a write covered whole is a view of that held write's data, not a copy, so that
    /// a write is kept once (a 2 MiB table write was kept twice: the request and 512 page copies); such a view is
    /// never written through, since the held request must keep the bytes it was issued with: a later write into part
    /// of it first gives the page bytes of its own (<see cref="Put"/>).
    /// </summary>
    private readonly Dictionary<long, Page> _pages = new();

    /// <summary>PageSize bytes of Data from Start; Owned when the overlay may change them in place.</summary>
    private readonly record struct Page(byte[] Data, int Start, bool Owned)
    {
        public Span<byte> Bytes => Data.AsSpan(Start, PageSize);
    }

    /// <summary>
    /// Whole pages a discard left reading as zeros, as runs of page numbers (a page in <see cref="_pages"/> overrides
    /// them), so that discarding freed data clusters costs memory per run, not per page: applying a snapshot over
    /// 2 GiB of rewritten data discards half a million pages.
    /// </summary>
    private readonly PageRuns _zeroPages = new();
    private long _length = inner.Length;

    /// <summary>Bytes of the inner store at or past this offset read as zeros (the overlay was cut below them).</summary>
    private long _innerCut = inner.Length;

    /// <summary>The held requests in issue order (zero writes are kept as writes of zeros).</summary>
    public List<HeldRequest> Requests { get; } = [];

    /// <summary>The store under the overlay.</summary>
    public IStorage Inner => inner;

    public long Length => _length;

    public bool ReadOnly => inner.ReadOnly;

    public long AllocatedSize => inner.AllocatedSize;

    public void Read(long offset, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            long page = offset >> PageBits;
            int at = (int)(offset & (PageSize - 1));
            int n = Math.Min(buffer.Length, PageSize - at);
            if (_pages.TryGetValue(page, out var p))
            {
                p.Bytes.Slice(at, n).CopyTo(buffer);
            }
            else if (_zeroPages.Contains(page))
            {
                buffer[..n].Clear();
            }
            else
            {
                // The following pages that hold nothing either come with this one: one inner read for the run, as the
                // request would be without the overlay.
                while (n < buffer.Length && !_pages.ContainsKey(++page) && !_zeroPages.Contains(page))
                {
                    n = Math.Min(buffer.Length, n + PageSize);
                }
                ReadInner(offset, buffer[..n]);
            }
            if (offset + n > _length)
            {
                // Past the end of the overlay reads as zeros, whatever a page holds.
                int from = (int)Math.Max(0, _length - offset);
                buffer[from..n].Clear();
            }
            buffer = buffer[n..];
            offset += n;
        }
    }

    private void ReadInner(long offset, Span<byte> buffer)
    {
        inner.Read(offset, buffer);
        if (offset + buffer.Length > _innerCut)
        {
            buffer[(int)Math.Max(0, _innerCut - offset)..].Clear();
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        Hold(offset, data.ToArray());
    }

    public void WriteZeroes(long offset, long length) => Hold(offset, new byte[length]);

    /// <summary>Holds a write of data, which the overlay owns from here on and never changes.</summary>
    private void Hold(long offset, byte[] data)
    {
        if (ReadOnly)
        {
            throw new BlockIOException(Errno.EROFS);
        }
        Requests.Add(new HeldRequest(HeldRequestKind.Write, offset, data, 0));
        Put(offset, data, shared: data);
        _length = Math.Max(_length, checked(offset + data.Length));
    }

    public void SetLength(long length)
    {
        Requests.Add(new HeldRequest(HeldRequestKind.SetLength, 0, [], length));
        if (length < _length)
        {
            Put(length, new byte[(int)Math.Min(_length - length, PageSize - (length & (PageSize - 1)))]);
            foreach (long page in _pages.Keys.Where(p => p << PageBits >= RoundUpToPage(length)).ToList())
            {
                _pages.Remove(page);
            }
            _innerCut = Math.Min(_innerCut, length);
        }
        _length = length;
    }

    public void Discard(long offset, long length)
    {
        Requests.Add(new HeldRequest(HeldRequestKind.Discard, offset, [], length));
        long end = Math.Min(offset + length, _length);
        if (offset >= end)
        {
            return;
        }
        long firstWhole = RoundUpToPage(offset), lastWhole = end & ~(long)(PageSize - 1);
        if (firstWhole >= lastWhole)
        {
            Put(offset, new byte[end - offset]);
            return;
        }
        Put(offset, new byte[firstWhole - offset]);
        long first = firstWhole >> PageBits, last = lastWhole >> PageBits;
        // Held pages in the range would hide the zeros: walk the range or the held pages, whichever is shorter.
        if (last - first <= _pages.Count)
        {
            for (long page = first; page < last; page++)
            {
                _pages.Remove(page);
            }
        }
        else
        {
            foreach (long page in _pages.Keys.Where(k => k >= first && k < last).ToList())
            {
                _pages.Remove(page);
            }
        }
        _zeroPages.Add(first, last);
        Put(lastWhole, new byte[end - lastWhole]);
    }

    public void Flush() => Requests.Add(new HeldRequest(HeldRequestKind.Flush, 0, [], 0));

    public void DebugEvent(string name) => inner.DebugEvent(name);

    /// <inheritdoc/>
    public long RequestAlignment => inner.RequestAlignment;

    /// <summary>The overlay does not own the inner store.</summary>
    public void Dispose() { }

    private static long RoundUpToPage(long v) => (v + PageSize - 1) & ~(long)(PageSize - 1);

    /// <summary>
    /// Puts data at offset into the pages. With shared, data is that array (a held write's bytes, never changed): a page
    /// data covers whole becomes a view into it instead of a copy.
    /// </summary>
    private void Put(long offset, ReadOnlySpan<byte> data, byte[]? shared = null)
    {
        int from = 0;
        while (from < data.Length)
        {
            long page = (offset + from) >> PageBits;
            int at = (int)((offset + from) & (PageSize - 1));
            int n = Math.Min(data.Length - from, PageSize - at);
            if (n == PageSize && shared is not null)
            {
                _pages[page] = new Page(shared, from, Owned: false);
            }
            else
            {
                data.Slice(from, n).CopyTo(OwnedPage(page, whole: n == PageSize).Bytes[at..]);
            }
            from += n;
        }
    }

    /// <summary>
    /// The page as bytes of its own: a new page (with its old bytes from the inner store or zeros, unless the caller
    /// writes it whole) or a copy of a view.
    /// </summary>
    private Page OwnedPage(long page, bool whole)
    {
        if (_pages.TryGetValue(page, out var p) && p.Owned)
        {
            return p;
        }
        var bytes = new byte[PageSize];
        if (!whole && _pages.ContainsKey(page))
        {
            p.Bytes.CopyTo(bytes);
        }
        else if (!whole && !_zeroPages.Contains(page))
        {
            ReadInner(page << PageBits, bytes);
        }
        p = new Page(bytes, 0, Owned: true);
        _pages[page] = p;
        return p;
    }
}
