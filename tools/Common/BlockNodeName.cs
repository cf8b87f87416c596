namespace Qcow2.Cli;

/// <summary>What an open asked for, as bdrv_open received it: the file name (plain, prefixed or json:), the format given
/// apart (-f), the options (--image-opts strings or json: values with their JSON types) in the order given, and what the
/// open found out: the top node's driver (probed when none was given), whether the open was without I/O (qemu-img info)
/// and the backing file the image header names.</summary>
public sealed record NodeOpenRequest(
    string? FileName,
    string? Format,
    IReadOnlyList<KeyValuePair<string, object?>> Options,
    string OpenedDriver,
    bool NoIo,
    string? HeaderBacking = null,
    string? HeaderBackingFormat = null)
{
    /// <summary>The backing file (and its format) named by the header of each qcow2 node below the top one, by the option
    /// prefix that reaches it ("file." for a qcow2 whose file is another qcow2).</summary>
    public IReadOnlyDictionary<string, (string? Backing, string? Format)> ChildHeaders { get; init; } =
        new Dictionary<string, (string? Backing, string? Format)>();
}

/// <summary>
/// The name QEMU 7.2 gives an opened node tree (bs->filename, as bdrv_refresh_filename computes it): each node gathers its
/// strong options (driver, filename and the driver's strong_runtime_opts) and its children's option trees; a node whose
/// strong options add nothing, over a protocol node that has a plain name, takes that name; drivers with their own rule
/// (null-co, blkdebug) build one; any other node is named "json:" and its options as QEMU's compact JSON, in QDict order.
/// </summary>
public static class BlockNodeName
{
    /// <summary>A driver as bdrv_refresh_filename sees it.</summary>
    /// <param name="Protocol">whether it has bdrv_file_open (its name may stand for a format node above it)</param>
    /// <param name="Filter">is_filter: never takes its child's name by default</param>
    /// <param name="Strong">strong_runtime_opts (a trailing dot takes every option under that prefix)</param>
    /// <param name="Child">the child whose options it gathers (its primary child), if any</param>
    private sealed record Driver(bool Protocol, bool Filter, string[] Strong, string? Child);

    private static readonly string[] NullStrong = ["size", "read-zeroes"];

    private static readonly Dictionary<string, Driver> Drivers = new(StringComparer.Ordinal)
    {
        ["file"] = new(true, false, [], null),
        ["null-co"] = new(true, false, NullStrong, null),
        ["null-aio"] = new(true, false, NullStrong, null),
        ["blkdebug"] = new(true, true,
            ["config", "inject-error.", "set-state.", "align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"],
            "image"),
        ["raw"] = new(false, false, ["offset", "size"], "file"),
        ["qcow2"] = new(false, false, [], "file"),
        ["copy-on-read"] = new(false, true, [], "file"),
        ["compress"] = new(false, true, [], "file"),
    };

    private static readonly Driver Unknown = new(false, false, [], "file");

    /// <summary>A node once refreshed: its driver, exact_filename ("" when none), full_open_options, the protocol flag of its
    /// driver and its primary child.</summary>
    private sealed record Node(string DriverName, string Exact, QDict Full, bool Protocol, Node? Child)
    {
        public string Name => Exact.Length > 0 ? Exact : "json:" + QJson.Compact(Full);
    }

    /// <summary>bs->filename of the top node the request opened.</summary>
    public static string Of(NodeOpenRequest r) => Top(r).Name;

    /// <summary>bs->filename of the node whose offsets qemu-img map reports for the top image's data (the file a format
    /// maps its clusters into): raw and filter nodes pass block status through to their child, a format answers with
    /// its file child, a protocol with itself.</summary>
    public static string OfDataNode(NodeOpenRequest r)
    {
        Node n = Top(r);
        while (n.Child is not null && (n.DriverName is "raw" or "copy-on-read" or "compress" or "blkdebug"))
        {
            n = n.Child;
        }
        return (n.Protocol || n.Child is null ? n : n.Child).Name;
    }

    private static Node Top(NodeOpenRequest r)
    {
        var options = new List<KeyValuePair<string, object?>>(r.Options);
        string? fileName = r.FileName;
        if (fileName is not null && Qcow2.ImageOpener.JsonOptions(fileName) is { } json)
        {
            // bdrv_fill_options: the json: options join those given apart, which win.
            options.AddRange(json.Where(kv => !options.Any(o => o.Key == kv.Key)));
            fileName = null;
        }
        string driver = Text(Get(options, "driver")) ?? r.Format ?? r.OpenedDriver;
        return Refresh(driver, options, fileName, r, "");
    }

    /// <summary>bdrv_refresh_filename of one node opened as driver from options (keys relative to it) and fileName.</summary>
    private static Node Refresh(string driver, List<KeyValuePair<string, object?>> options, string? fileName, NodeOpenRequest r, string path)
    {
        Driver d = Drivers.GetValueOrDefault(driver, Unknown);
        options = d.Protocol && fileName is not null ? ParseFileName(driver, fileName, options) : options;
        var full = new QDict();
        bool strong = AppendStrong(full, driver, d, options);
        Node? child = null;
        if (d.Child is not null)
        {
            var sub = Sub(options, d.Child + ".");
            string? childFile = d.Protocol ? Text(Get(options, "x-image")) : fileName;
            string childDriver = Text(Get(sub, "driver")) ?? ProtocolOf(Text(Get(sub, "filename")) ?? childFile);
            // qemu-img info opens the top image without its backing chain (BDRV_O_NO_BACKING), not the images below it.
            if (driver == "qcow2" && (!r.NoIo || path.Length > 0) && Backing(full, options, r, path))
            {
                strong = true;
            }
            child = Refresh(childDriver, sub, Get(sub, "filename") is null ? childFile : null, r, path + d.Child + ".");
            full.Add(d.Child, child.Full);
        }
        string exact = driver switch
        {
            "file" => Text(Get(options, "filename")) ?? "",
            "null-co" or "null-aio" => full.Entries.All(kv => kv.Key is "driver" or "filename") ? driver + "://" : "",
            "blkdebug" => child is { Exact.Length: > 0 } && full.Entries.All(kv => kv.Key is "config" or "image" or "driver")
                ? $"blkdebug:{Text(Get(options, "config"))}:{child.Exact}" : "",
            _ => child is { Exact.Length: > 0, Protocol: true } && !d.Filter && !strong ? child.Exact : "",
        };
        return new Node(driver, exact, full, d.Protocol, child);
    }

    /// <summary>append_strong_runtime_options: driver, filename, then the driver's strong options as given; whether any
    /// strong option other than driver and filename was given.</summary>
    private static bool AppendStrong(QDict full, string driver, Driver d, List<KeyValuePair<string, object?>> options)
    {
        bool any = false;
        foreach (string name in new[] { "driver", "filename" }.Concat(d.Strong))
        {
            var given = name.EndsWith('.')
                ? Overlap.QemuOptionSyntax.InQdictOrder(options.Select(kv => kv.Key).Where(k => k.StartsWith(name, StringComparison.Ordinal))).ToList()
                : options.Any(kv => kv.Key == name) ? [name] : [];
            foreach (string key in given)
            {
                full.Add(key, Value(Get(options, key)));
            }
            any |= given.Count > 0 && name is not ("driver" or "filename");
        }
        if (!options.Any(kv => kv.Key == "driver"))
        {
            full.Add("driver", driver);
        }
        return any;
    }

    /// <summary>bdrv_backing_overridden for an image opened with its backing chain: no backing where the header names one
    /// ("backing": null), or a backing node from backing.* options whose name differs from the header's.</summary>
    private static bool Backing(QDict full, List<KeyValuePair<string, object?>> options, NodeOpenRequest r, string path)
    {
        var (headerBacking, headerFormat) = path.Length == 0 ? (r.HeaderBacking, r.HeaderBackingFormat)
            : r.ChildHeaders.TryGetValue(path, out var h) ? h : (null, null);
        if (string.IsNullOrEmpty(headerBacking))
        {
            return false;
        }
        if (options.Any(kv => kv.Key == "backing") && Get(options, "backing") is null or "")
        {
            full.Add("backing", QJson.Null);
            return true;
        }
        var sub = Sub(options, "backing.");
        if (sub.Count == 0)
        {
            return false;
        }
        string backingDriver = Text(Get(sub, "driver")) ?? headerFormat ?? "qcow2";
        Node backing = Refresh(backingDriver, sub, Get(sub, "file.filename") is null ? headerBacking : null, r, path + "backing.");
        if (backing.Name == headerBacking)
        {
            return false;
        }
        full.Add("backing", backing.Full);
        return true;
    }

    /// <summary>A protocol's parse_filename: the file driver drops a "file:" prefix; null-co keeps its one name; blkdebug
    /// splits blkdebug:CONFIG:IMAGE into its config and x-image options.</summary>
    private static List<KeyValuePair<string, object?>> ParseFileName(string driver, string fileName, List<KeyValuePair<string, object?>> options)
    {
        var o = new List<KeyValuePair<string, object?>>(options);
        if (driver == "blkdebug" && fileName.StartsWith("blkdebug:", StringComparison.Ordinal))
        {
            string rest = fileName["blkdebug:".Length..];
            int colon = rest.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                o.Add(new("config", rest[..colon]));
            }
            o.Add(new("x-image", rest[(colon + 1)..]));
            return o;
        }
        if (driver == "file" && fileName.StartsWith("file:", StringComparison.Ordinal))
        {
            // raw_parse_filename: what follows "file:" is a path, shown as ./path where it would look like a protocol.
            fileName = fileName["file:".Length..];
            fileName = Qcow2.ImageOpener.HasProtocol(fileName) ? "./" + fileName : fileName;
        }
        o.Add(new("filename", fileName));
        return o;
    }

    /// <summary>bdrv_find_protocol for a child's file name: blkdebug: and the null protocols by prefix, else the file driver.</summary>
    private static string ProtocolOf(string? fileName) => fileName switch
    {
        not null when fileName.StartsWith("blkdebug:", StringComparison.Ordinal) => "blkdebug",
        "null-co://" => "null-co",
        "null-aio://" => "null-aio",
        _ => "file",
    };

    /// <summary>qdict_extract_subqdict: the options under prefix, with the prefix taken off.</summary>
    private static List<KeyValuePair<string, object?>> Sub(List<KeyValuePair<string, object?>> options, string prefix) =>
        [.. options.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(kv => new KeyValuePair<string, object?>(kv.Key[prefix.Length..], kv.Value))];

    private static object? Get(List<KeyValuePair<string, object?>> options, string key) =>
        options.FirstOrDefault(kv => kv.Key == key).Value;

    private static string? Text(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "on" : "off",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static object Value(object? value) => value ?? QJson.Null;
}
