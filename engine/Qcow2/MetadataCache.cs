namespace Qcow2;

/// <summary>
/// A write-back cache of cluster-sized metadata tables (L2 tables or refcount blocks), as QEMU's qcow2 cache:
/// tables are written when the cache is flushed, before a dependent cache is flushed, or when the image is flushed
/// or closed. A table that was never flushed is lost if the image becomes unusable.
/// </summary>
internal sealed class MetadataCache
{
    private readonly Dictionary<long, Entry> _entries = new();
    private readonly int _tableSize;
    private readonly Func<long, byte[]> _load;
    private readonly Action<long, byte[]> _store;
    private readonly Action _flushFile;
    private MetadataCache? _dependency;

    private sealed class Entry(byte[] data)
    {
        public byte[] Data { get; } = data;
        public bool Dirty { get; set; }
        public long LastUse { get; set; }
    }

    private long _clock;

    /// <summary>The table a caller is changing entry by entry (QEMU holds a reference to it), or -1.</summary>
    private long _held = -1;

    /// <summary>Creates a cache of tables of tableSize bytes, loaded and stored through the given functions.</summary>
    public MetadataCache(int tableSize, int capacity, Func<long, byte[]> load, Action<long, byte[]> store, Action flushFile)
    {
        _flushFile = flushFile;
        _tableSize = tableSize;
        Capacity = Math.Max(capacity, 2);
        _load = load;
        _store = store;
    }

    /// <summary>How many tables the cache holds before it evicts the least recently used clean one.</summary>
    public int Capacity { get; }

    /// <summary>The table at offset, loaded when absent.</summary>
    public byte[] Get(long offset)
    {
        if (!_entries.TryGetValue(offset, out var e))
        {
            MakeRoom();
            e = new Entry(_load(offset));
            _entries[offset] = e;
        }
        e.LastUse = ++_clock;
        return e.Data;
    }

    /// <summary>A zeroed table for offset, without reading the file.</summary>
    public byte[] GetEmpty(long offset)
    {
        if (_entries.TryGetValue(offset, out var e))
        {
            Array.Clear(e.Data);
        }
        else
        {
            MakeRoom();
            e = new Entry(new byte[_tableSize]);
            _entries[offset] = e;
        }
        e.LastUse = ++_clock;
        return e.Data;
    }

    /// <summary>Whether the table at offset is cached.</summary>
    public bool Contains(long offset) => _entries.ContainsKey(offset);

    /// <summary>
    /// Marks the table at offset as modified. A table dropped since the caller got it stays dropped: that happens only
    /// when a corruption made the image unusable in the middle of an operation and the caches were cleared (as QEMU's
    /// driver is taken away, its tables are never written again).
    /// </summary>
    public void MarkDirty(long offset)
    {
        if (_entries.TryGetValue(offset, out var e))
        {
            e.Dirty = true;
        }
    }

    /// <summary>
    /// Drops the table at offset without writing it (its cluster was freed). A held table stays: only a corrupt image
    /// frees the table it is changing (an entry pointing at its own L2 table), where QEMU's cache would assert, and
    /// dropping it would lose the changes made to it so far.
    /// </summary>
    public void Discard(long offset)
    {
        if (offset != _held)
        {
            _entries.Remove(offset);
        }
    }

    /// <summary>Keeps the table at offset in the cache (not discarded, not evicted) until the result is disposed.</summary>
    public Holding Hold(long offset)
    {
        long previous = _held;
        _held = offset;
        return new Holding(this, previous);
    }

    /// <summary>The scope of <see cref="Hold"/>.</summary>
    internal readonly struct Holding(MetadataCache cache, long previous) : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose() => cache._held = previous;
    }

    /// <summary>Drops everything without writing (the image became unusable or was reloaded).</summary>
    public void Clear() => _entries.Clear();

    /// <summary>Makes this cache's flush write dependency's tables first.</summary>
    public void SetDependency(MetadataCache dependency)
    {
        if (dependency._dependency is not null)
        {
            dependency.FlushDependency();
        }
        if (_dependency is not null && _dependency != dependency)
        {
            FlushDependency();
        }
        _dependency = dependency;
    }

    /// <summary>Flushes the dependency; it is forgotten only once its flush succeeded (qcow2_cache_flush_dependency).</summary>
    private void FlushDependency()
    {
        if (_dependency is null)
        {
            return;
        }
        _dependency.Flush();
        _dependency = null;
    }

    /// <summary>Writes every dirty table (<see cref="Write"/>), then flushes the file (qcow2_cache_flush).</summary>
    public void Flush()
    {
        Write();
        _flushFile();
    }

    /// <summary>
    /// Writes every dirty table, in offset order, after flushing the dependency. A table whose write fails stays dirty
    /// and the others are still written; the failure is thrown afterwards, an ENOSPC in preference (qcow2_cache_write).
    /// </summary>
    public void Write()
    {
        FlushDependency();
        BlockIOException? failure = null;
        foreach (var (offset, e) in _entries.OrderBy(kv => kv.Key).ToList())
        {
            if (!e.Dirty)
            {
                continue;
            }
            try
            {
                _store(offset, e.Data);
                e.Dirty = false;
            }
            catch (BlockIOException x) when (failure is null || failure.Errno != Errno.ENOSPC)
            {
                failure = x;
            }
            catch (BlockIOException)
            {
            }
        }
        if (failure is not null)
        {
            throw failure;
        }
    }

    private void MakeRoom()
    {
        if (_entries.Count < Capacity)
        {
            return;
        }
        var victim = _entries.Where(kv => kv.Key != _held).MinBy(kv => kv.Value.LastUse);
        if (victim.Value.Dirty)
        {
            FlushDependency();
            _store(victim.Key, victim.Value.Data);
        }
        _entries.Remove(victim.Key);
    }
}
