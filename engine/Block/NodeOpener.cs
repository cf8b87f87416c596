using Qcow2.Storage;

namespace Qcow2.Block;

/// <summary>
/// Node trees beyond a format over its file, as bdrv_open builds them from flattened options: the file and null
/// protocols as the image itself, the copy-on-read and compress filters, and a format over any other node (qcow2 or raw
/// over a qcow2, a filter or null-co). Each child is opened from its "file." options by <see cref="ImageOpener"/>.
/// </summary>
internal static class NodeOpener
{
    private static readonly string[] Protocols = ["file", "null-co", "null-aio"];
    private static readonly string[] Filters = ["copy-on-read", "compress", "blkdebug"];

    /// <summary>Whether the driver or the file node's driver asks for a node this class opens.</summary>
    public static bool Describes(string? format, IReadOnlyDictionary<string, string> options) =>
        (format is not null && (Protocols.Contains(format) || Filters.Contains(format)))
        || (options.TryGetValue("file.driver", out string? d) && d is not ("file" or "blkdebug"));

    /// <summary>Opens the node tree (fileName is the image's name when one was given apart from the options, else "").</summary>
    public static BlockDevice Open(string fileName, OpenOptions options)
    {
        if (options.Format != "file")
        {
            BlockOptions.CheckFlags(options.Options);
        }
        switch (options.Format)
        {
            case "null-co" or "null-aio":
                if (fileName.Length > 0 && fileName != options.Format + "://")
                {
                    throw new ImageOpenException($"The only allowed filename for this driver is '{options.Format}://'");
                }
                return NullDevice.Open(options.Format, options.Options);
            case "file":
                return OpenFileNode(options.Options.GetValueOrDefault("filename") ?? fileName, options);
            case "copy-on-read":
                return CheckFilterOptions(CopyOnReadFilter.Open(OpenChild(fileName, options)), options, "bottom");
            case "compress":
                return CheckFilterOptions(CompressFilter.Open(OpenChild(fileName, options)), options);
            case "blkdebug":
                return OpenBlkdebug(fileName, options);
            case null or "qcow2" or "raw":
                break;
            default:
                throw new ImageOpenException($"Unknown driver '{options.Format}'");
        }
        BlockDevice child = OpenChild(fileName, options);
        try
        {
            var storage = new DeviceStorage(child);
            string format = options.Format ?? ImageOpener.Probe(storage);
            return format switch
            {
                "qcow2" => Qcow2Image.Open(storage, child.FileName, options),
                "raw" => new RawDevice(WindowStorage.Open(storage, options.Options)) { FileName = child.FileName },
                _ => throw new ImageOpenException($"the node looks like a '{format}' image, a format this engine does not support (only qcow2 and raw)", Errno.ENOTSUP),
            };
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>After the filter's child is open: the node's discard and detect-zeroes, then any option neither the node
    /// nor the filter takes ("Block format 'compress' does not support the option 'x'").</summary>
    private static FilterDevice CheckFilterOptions(FilterDevice filter, OpenOptions options, params string[] own)
    {
        try
        {
            BlockOptions.CheckNode(options.Options, options.Unmap);
            if (options.Options.TryGetValue("bottom", out string? bottom)
                && !options.Options.Any(kv => kv.Key.EndsWith("node-name", StringComparison.Ordinal) && kv.Value == bottom))
            {
                // cor_open looks the bottom node up by name among the nodes that exist.
                throw new ImageOpenException($"Bottom node '{bottom}' not found");
            }
            foreach (string key in Overlap.QemuOptionSyntax.InQdictOrder(options.Options.Keys))
            {
                if (!own.Contains(key) && !BlockOptions.IsNodeOption(key))
                {
                    throw new ImageOpenException($"Block format '{filter.FormatName}' does not support the option '{key}'");
                }
            }
            return filter;
        }
        catch
        {
            filter.Dispose();
            throw;
        }
    }

    /// <summary>The child named "file": its options are those under "file.", its driver the file protocol unless given.</summary>
    private static BlockDevice OpenChild(string fileName, OpenOptions parent)
    {
        var sub = Inherit(parent);
        foreach (var (k, v) in parent.Options)
        {
            if (k.StartsWith("file.", StringComparison.Ordinal))
            {
                sub.Options[k["file.".Length..]] = v;
            }
        }
        sub.Format = sub.Options.Remove("driver", out string? driver) ? driver : null;
        if (sub.Options.TryGetValue("read-only", out string? ro) && Overlap.QemuOptionSyntax.TryParseBool(ro) == true)
        {
            sub.ReadOnly = true;
        }
        if (sub.Format is null or "file")
        {
            string? name = sub.Options.GetValueOrDefault("filename") ?? (fileName.Length > 0 ? fileName : null);
            return name is null ? throw new ImageOpenException("A block device must be specified for \"file\"") : OpenFileNode(name, sub);
        }
        if (sub.Format is not ("qcow2" or "raw") && !Protocols.Contains(sub.Format) && !Filters.Contains(sub.Format))
        {
            throw new ImageOpenException($"Unknown driver '{sub.Format}'");
        }
        string childName = sub.Options.Remove("file.filename", out string? inner) ? inner : "";
        return ImageOpener.Open(childName, sub);
    }

    /// <summary>A blkdebug node over its child "image" (blkdebug_open): the name is blkdebug:CONFIG:IMAGE or the image's own
    /// (x-image); the child is the file protocol unless image.driver names another driver.</summary>
    private static BlkdebugDevice OpenBlkdebug(string fileName, OpenOptions options)
    {
        var parsed = new OpenOptions();
        string image = fileName.Length > 0 ? Blkdebug.ParseFileName(fileName, parsed) : "";
        if (parsed.Options.TryGetValue("file.config", out string? config))
        {
            options.Options.TryAdd("config", config);
        }
        if (image.Length > 0)
        {
            options.Options.TryAdd("x-image", image);
        }
        var sub = Inherit(options);
        var own = new List<KeyValuePair<string, string>>();
        foreach (var (k, v) in options.Options)
        {
            if (k.StartsWith("image.", StringComparison.Ordinal))
            {
                sub.Options[k["image.".Length..]] = v;
            }
            else if (!BlockOptions.IsNodeOption(k) && k != "x-image")
            {
                own.Add(new(k, v));
            }
        }
        string? name = options.Options.GetValueOrDefault("x-image") ?? (sub.Options.Remove("filename", out string? f) ? f : null);
        sub.Format = sub.Options.Remove("driver", out string? driver) ? driver : "file";
        if (name is null && sub.Options.Count == 0)
        {
            throw new ImageOpenException("A block device must be specified for \"image\"");
        }
        if (name is null && sub.Format != "file" && sub.Options.Remove("file.filename", out string? inner))
        {
            name = inner;
        }
        BlockDevice child = sub.Format == "file" ? OpenFileNode(name ?? "", sub) : ImageOpener.Open(name ?? "", sub);
        return BlkdebugDevice.Open(child, options, own);
    }

    /// <summary>The file protocol node itself as a device: a raw view of the file whose driver is "file".</summary>
    private static BlockDevice OpenFileNode(string name, OpenOptions options)
    {
        if (name.Length == 0)
        {
            throw new ImageOpenException("The 'file' block driver requires a file name");
        }
        var raw = Inherit(options);
        raw.Format = "raw";
        raw.FileNode = true;
        foreach (var (k, v) in options.Options)
        {
            if (k != "filename")
            {
                raw.Options[BlockOptions.IsNodeFlag(k) ? k : "file." + k] = v;
            }
        }
        return ImageOpener.Open(name, raw);
    }

    private static OpenOptions Inherit(OpenOptions o) => new()
    {
        ReadOnly = o.ReadOnly,
        WriteThrough = o.WriteThrough,
        NoFlush = o.NoFlush,
        ForceShare = o.ForceShare,
        Unmap = o.Unmap,
        LiteralFileName = true,
        Diagnostics = o.Diagnostics,
        ReportPrefix = o.ReportPrefix,
        Messages = o.Messages,
        RequestSuspended = o.RequestSuspended,
        Events = o.Events,
        BaseDirectory = o.BaseDirectory,
        Clock = o.Clock,
    };
}
