using System.Globalization;
using Qcow2.Storage;

namespace Qcow2.Block;

/// <summary>
/// QEMU's blkdebug filter over the image file, selected with file.driver=blkdebug: error injection rules on named
/// events (from file.config or file.inject-error.N.*) and breakpoints that suspend a request at an event.
/// </summary>
public sealed class Blkdebug : IStorage, IBlkdebugControl, IAlignedDriver
{
    /// <summary>The event names QEMU's blkdebug knows (BlkdebugEvent).</summary>
    public static readonly IReadOnlySet<string> EventNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "l1_update", "l1_grow_alloc_table", "l1_grow_write_table", "l1_grow_activate_table", "l2_load", "l2_update",
        "l2_update_compressed", "l2_alloc_cow_read", "l2_alloc_write", "read_aio", "read_backing_aio",
        "read_compressed", "write_aio", "write_compressed", "vmstate_load", "vmstate_save", "cow_read", "cow_write",
        "reftable_load", "reftable_grow", "reftable_update", "refblock_load", "refblock_update", "refblock_update_part",
        "refblock_alloc", "refblock_alloc_hookup", "refblock_alloc_write", "refblock_alloc_write_blocks",
        "refblock_alloc_write_table", "refblock_alloc_switch_table", "cluster_alloc", "cluster_alloc_bytes",
        "cluster_free", "flush_to_os", "flush_to_disk", "pwritev_rmw_head", "pwritev_rmw_after_head",
        "pwritev_rmw_tail", "pwritev_rmw_after_tail", "pwritev", "pwritev_zero", "pwritev_done", "empty_image_prepare",
        "l1_shrink_write_table", "l1_shrink_free_l2_clusters", "cor_write", "cluster_alloc_space", "none",
    };

    /// <summary>The I/O types an inject-error rule may name (BlkdebugIOType).</summary>
    private static readonly string[] IoTypes = ["read", "write", "write-zeroes", "discard", "flush", "block-status"];

    /// <summary>An inject-error rule (Errno set) or a set-state rule (NewState set), active in State (0: any state).</summary>
    private sealed class ErrorRule
    {
        public required string Event { get; init; }
        public long State { get; init; }
        public long? NewState { get; init; }
        public int Errno { get; init; } = (int)Qcow2.Errno.EIO;
        public bool Once { get; init; }
        public long Sector { get; init; } = -1;
        public string? IoType { get; init; }
    }

    private sealed class Suspension
    {
        public required string Tag { get; init; }
        public ManualResetEventSlim Released { get; } = new(false);
    }

    private readonly IStorage _inner;
    private readonly OpenOptions _options;
    private BlkdebugLimits _limits = BlkdebugLimits.None;

    /// <summary>The node's request alignment (its align option, else 1).</summary>
    public long RequestAlignment => _limits.RequestAlignment;
    /// <summary>The discard alignment the node takes over from its child (bdrv_merge_limits): a qcow2 image's cluster size.</summary>
    private long _childDiscardAlignment;
    private readonly List<ErrorRule> _rules = new();
    private readonly List<ErrorRule> _active = new();
    private readonly Dictionary<string, string> _breakpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Suspension> _suspended = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    /// <summary>The state machine's state (blkdebug starts in state 1).</summary>
    private long _state = 1;

    private Blkdebug(IStorage inner, OpenOptions options)
    {
        _inner = inner;
        _options = options;
    }

    /// <summary>Wraps storage in a blkdebug layer when the options ask for one (file.driver=blkdebug), consuming its options.</summary>
    public static IStorage Wrap(IStorage storage, OpenOptions options)
    {
        if (!options.Options.TryGetValue("file.driver", out var driver) || driver != "blkdebug")
        {
            return storage;
        }
        options.Options.Remove("file.driver");
        var b = new Blkdebug(storage, options);
        var limits = BlkdebugLimits.Take(options.Options, "file.");
        if (options.Options.Remove("file.config", out var config))
        {
            b.ReadConfig(Path.GetFullPath(config, options.BaseDirectory));
        }
        b.ReadInlineRules();
        b._limits = BlkdebugLimits.Check(limits);
        if (storage is DeviceStorage { Node: Qcow2Image image })
        {
            b._childDiscardAlignment = image.Info?.ClusterSize ?? 0;
        }
        return b;
    }

    /// <summary>Whether a file.image.* (or file.x-image) option belongs to a blkdebug node under the format (file.driver=blkdebug),
    /// whose child named "image" is the image file; the option is then the image file's own.</summary>
    public static bool ImageChild(IEnumerable<KeyValuePair<string, string>> options, string key) =>
        key.StartsWith("file.", StringComparison.Ordinal) && options.Any(kv => kv.Key == "file.driver" && kv.Value == "blkdebug");

    /// <summary>
    /// QEMU's blkdebug:[CONFIG]:IMAGE filename syntax (blkdebug_parse_filename): selects the blkdebug layer in options
    /// and returns the image's own file name; any other name is returned as it is.
    /// </summary>
    public static string ParseFileName(string fileName, OpenOptions options)
    {
        const string prefix = "blkdebug:";
        if (!fileName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return fileName;
        }
        string rest = fileName[prefix.Length..];
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new ImageOpenException("blkdebug requires both config file and image path");
        }
        options.Options["file.driver"] = "blkdebug";
        if (colon > 0)
        {
            options.Options["file.config"] = rest[..colon];
        }
        return rest[(colon + 1)..];
    }

    private void ReadInlineRules()
    {
        foreach (string kind in new[] { "inject-error", "set-state" })
        {
            string prefix = $"file.{kind}.";
            var groups = _options.Options.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList()
                .GroupBy(k => k[prefix.Length..].Split('.')[0]);
            foreach (var g in groups.OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var fields = g.ToDictionary(k => k[(prefix.Length + g.Key.Length + 1)..], k => _options.Options[k]);
                foreach (var k in g)
                {
                    _options.Options.Remove(k);
                }
                AddRule(kind, fields);
            }
        }
        foreach (var k in _options.Options.Keys.Where(k => k.StartsWith("file.", StringComparison.Ordinal) && k != "file.filename").ToList())
        {
            throw new ImageOpenException($"Block protocol 'blkdebug' doesn't support the option '{k["file.".Length..]}'");
        }
    }

    /// <summary>The config file's rules: the inject-error groups first, then the set-state groups (blkdebug's add_rule).</summary>
    private void ReadConfig(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageOpenException($"Could not read blkdebug config file: No such file or directory", Errno.ENOENT);
        }
        var groups = BlkdebugConfig.Parse(text);
        foreach (string kind in new[] { "inject-error", "set-state" })
        {
            foreach (var (group, options) in groups)
            {
                if (group == kind)
                {
                    AddRule(kind, options);
                }
            }
        }
    }

    private void AddRule(string kind, Dictionary<string, string> f)
    {
        if (!f.TryGetValue("event", out var ev))
        {
            throw new ImageOpenException("Missing event name for rule");
        }
        if (!EventNames.Contains(ev))
        {
            throw new ImageOpenException($"invalid parameter value: {ev}");
        }
        long Number(string key, long fallback) => f.TryGetValue(key, out var v) ? (long)BlockOptions.ParseNumber(key, v) : fallback;
        if (kind == "set-state")
        {
            _rules.Add(new ErrorRule { Event = ev, State = Number("state", 0), NewState = Number("new_state", 0) });
            return;
        }
        string? ioType = f.GetValueOrDefault("iotype");
        if (ioType is not null && !IoTypes.Contains(ioType))
        {
            throw new ImageOpenException($"invalid parameter value: {ioType}");
        }
        _rules.Add(new ErrorRule
        {
            Event = ev,
            State = Number("state", 0),
            Errno = (int)Number("errno", (int)Errno.EIO),
            Once = f.TryGetValue("once", out var o) && Overlap.QemuOptionSyntax.ParseBool("once", o),
            Sector = Number("sector", -1),
            IoType = ioType,
        });
    }

    /// <inheritdoc/>
    public void DebugEvent(string name)
    {
        // blkdebug_debug_event and process_rule: rules of this event in the current state fire; the first inject-error
        // rule replaces the active rules, a set-state rule moves the state once all have been seen.
        long newState = _state;
        bool injected = false;
        // Each event's rules are kept newest first (QLIST_INSERT_HEAD), and each fired one goes to the head of the list.
        foreach (var rule in _rules.Where(r => r.Event == name && (r.State == 0 || r.State == _state)).Reverse().ToList())
        {
            if (rule.NewState is { } next)
            {
                newState = next;
                continue;
            }
            if (!injected)
            {
                _active.Clear();
                injected = true;
            }
            _active.Insert(0, rule);
        }
        _state = newState;
        string? tag = null;
        lock (_gate)
        {
            foreach (var (t, ev) in _breakpoints)
            {
                if (ev == name)
                {
                    tag = t;
                    break;
                }
            }
            if (tag is null)
            {
                return;
            }
            _breakpoints.Remove(tag);
        }
        var s = new Suspension { Tag = tag };
        lock (_gate)
        {
            _suspended[tag] = s;
        }
        _options.Messages.WriteLine($"blkdebug: Suspended request '{tag}'");
        _options.RequestSuspended?.Invoke(tag);
        s.Released.Wait();
        _options.Messages.WriteLine($"blkdebug: Resuming request '{tag}'");
    }

    private void CheckRule(long offset, long bytes, string ioType)
    {
        foreach (var rule in _active)
        {
            if (rule.IoType is not null && rule.IoType != ioType)
            {
                continue;
            }
            if (rule.Sector >= 0 && (rule.Sector * 512 >= offset + bytes || rule.Sector * 512 + 512 <= offset))
            {
                continue;
            }
            if (rule.Once)
            {
                _active.Remove(rule);
                _rules.Remove(rule);
            }
            if (rule.Errno > 0)
            {
                // rule_check returns -errno: a rule whose errno is not positive lets the request succeed.
                throw new BlockIOException((Errno)rule.Errno);
            }
            return;
        }
    }

    /// <inheritdoc/>
    public int Break(string eventName, string tag)
    {
        if (!EventNames.Contains(eventName))
        {
            return -(int)Errno.ENOENT;
        }
        lock (_gate)
        {
            _breakpoints[tag] = eventName;
        }
        return 0;
    }

    /// <inheritdoc/>
    public int RemoveBreak(string tag)
    {
        lock (_gate)
        {
            bool had = _breakpoints.Remove(tag);
            if (_suspended.Remove(tag, out var s))
            {
                s.Released.Set();
                return 0;
            }
            return had ? 0 : -(int)Errno.ENOENT;
        }
    }

    /// <inheritdoc/>
    public int Resume(string tag)
    {
        Suspension? s;
        lock (_gate)
        {
            if (!_suspended.Remove(tag, out s))
            {
                return -(int)Errno.ENOENT;
            }
        }
        s.Released.Set();
        return 0;
    }

    /// <inheritdoc/>
    public bool IsSuspended(string tag)
    {
        lock (_gate)
        {
            return _suspended.ContainsKey(tag);
        }
    }

    /// <inheritdoc/>
    public long Length => _inner.Length;

    /// <inheritdoc/>
    public bool ReadOnly => _inner.ReadOnly;

    /// <inheritdoc/>
    public long AllocatedSize => _inner.AllocatedSize;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer) => AlignedRequests.Read(this, _limits, offset, buffer);

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        _writeGeneration++;
        AlignedRequests.Write(this, _limits, offset, data);
    }

    /// <inheritdoc/>
    public void SetLength(long length) => _inner.SetLength(length);

    /// <inheritdoc/>
    public void Flush()
    {
        // bdrv_co_flush skips a node written to since its last successful flush: then no rule sees the flush.
        long generation = _writeGeneration;
        if (generation == _flushedGeneration)
        {
            return;
        }
        CheckRule(0, 0, "flush");
        _inner.Flush();
        _flushedGeneration = generation;
    }

    private long _writeGeneration;
    private long _flushedGeneration;

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length) => WriteZeroes(offset, length, mayUnmap: false);

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        _writeGeneration++;
        AlignedRequests.WriteZeroes(this, _limits, offset, length, mayUnmap);
    }

    /// <inheritdoc/>
    public void Discard(long offset, long length)
    {
        _writeGeneration++;
        AlignedRequests.Discard(this, _limits, _childDiscardAlignment, offset, length);
    }

    void IAlignedDriver.Event(string name) => DebugEvent(name);

    void IAlignedDriver.DriverRead(long offset, Span<byte> buffer)
    {
        CheckRule(offset, buffer.Length, "read");
        _inner.Read(offset, buffer);
    }

    void IAlignedDriver.DriverWrite(long offset, ReadOnlySpan<byte> data)
    {
        CheckRule(offset, data.Length, "write");
        _inner.Write(offset, data);
    }

    /// <summary>blkdebug_co_pwrite_zeroes: pieces shorter than the zero alignment are refused (ENOTSUP), so that the
    /// block layer's fallback to written zeros is exercised.</summary>
    bool IAlignedDriver.DriverWriteZeroes(long offset, long bytes, bool mayUnmap)
    {
        if (bytes < Math.Max(_limits.RequestAlignment, _limits.OptWriteZero))
        {
            return false;
        }
        CheckRule(offset, bytes, "write-zeroes");
        _inner.WriteZeroes(offset, bytes, mayUnmap);
        return true;
    }

    /// <summary>blkdebug_co_pdiscard: pieces shorter than the request alignment are refused (ENOTSUP, ignored).</summary>
    void IAlignedDriver.DriverDiscard(long offset, long bytes)
    {
        if (bytes < _limits.RequestAlignment)
        {
            return;
        }
        CheckRule(offset, bytes, "discard");
        _inner.Discard(offset, bytes);
    }

    /// <inheritdoc/>
    public void Dispose() => _inner.Dispose();
}
