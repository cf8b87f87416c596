using Qcow2.Options;
using Qcow2.Overlap;

namespace Qcow2.Block;

/// <summary>
/// The options QEMU 7.2's block layer takes from every node (bdrv_runtime_opts) and from the file protocol node
/// (file-posix's raw_runtime_opts), checked with QEMU's messages and in QEMU's order: the node's flags before anything is
/// opened, the file node's options before and after the file is opened, then the node's discard, detect-zeroes and
/// node-name, and last (in the format driver) the driver's own options and what is left over.
/// </summary>
internal static class BlockOptions
{
    /// <summary>bdrv_runtime_opts' booleans (update_flags_from_options, then the force-share check, which a reopen does not make: keep it last).</summary>
    private static readonly string[] Flags = ["read-only", "auto-read-only", "cache.direct", "cache.no-flush", "force-share"];

    /// <summary>raw_runtime_opts of file-posix: the file protocol node's own options.</summary>
    private static readonly string[] FileOptions =
        ["filename", "aio", "aio-max-batch", "locking", "pr-manager", "drop-cache", "x-check-cache-dropped"];

    /// <summary>Whether a key is one of the options every node takes (bdrv_runtime_opts), or names a child node.</summary>
    public static bool IsNodeOption(string key) =>
        Flags.Contains(key) || key is "node-name" or "driver" or "discard" or "detect-zeroes" or "backing" or "file"
        || key.StartsWith("file.", StringComparison.Ordinal) || key.StartsWith("backing.", StringComparison.Ordinal);

    /// <summary>Whether a key is one of the options of the node itself rather than of its driver (the flags, discard,
    /// detect-zeroes and node-name).</summary>
    public static bool IsNodeFlag(string key) => Flags.Contains(key) || key is "discard" or "detect-zeroes" or "node-name";

    /// <summary>The node's flags, parsed before its children are opened ("Parameter 'read-only' expects 'on' or 'off'").</summary>
    public static void CheckFlags(IReadOnlyDictionary<string, string> options, string prefix = "", bool forceShare = true)
    {
        foreach (string flag in forceShare ? Flags : Flags[..^1])
        {
            if (options.TryGetValue(prefix + flag, out string? v))
            {
                QemuOptionSyntax.ParseBool(flag, v);
            }
        }
    }

    /// <summary>Whether the image's file node is QEMU's file protocol (no file.driver, or file.driver=file).</summary>
    public static bool FileNodeIsFile(IReadOnlyDictionary<string, string> options) =>
        !options.TryGetValue("file.driver", out string? d) || d == "file";

    /// <summary>The file node's own options as file-posix parses them before it opens the file.</summary>
    public static void CheckFileNode(IReadOnlyDictionary<string, string> options)
    {
        if (!FileNodeIsFile(options))
        {
            return;
        }
        CheckFlags(options, "file.");
        if (options.TryGetValue("file.aio", out string? aio) && aio is not ("threads" or "native" or "io_uring"))
        {
            throw new ImageOpenException($"invalid parameter value: {aio}");
        }
        if (options.TryGetValue("file.aio-max-batch", out string? batch))
        {
            ParseNumber("aio-max-batch", batch);
        }
        if (options.TryGetValue("file.locking", out string? locking) && locking is not ("on" or "off" or "auto"))
        {
            throw new ImageOpenException($"invalid parameter value: {locking}");
        }
        if (options.TryGetValue("file.pr-manager", out string? pr))
        {
            throw new ImageOpenException($"No persistent reservation manager with id '{pr}'");
        }
        foreach (string flag in new[] { "drop-cache", "x-check-cache-dropped" })
        {
            if (options.TryGetValue("file." + flag, out string? v))
            {
                QemuOptionSyntax.ParseBool(flag, v);
            }
        }
        if (aio == "native" && !(options.TryGetValue("file.cache.direct", out string? direct) && QemuOptionSyntax.ParseBool("cache.direct", direct)))
        {
            throw new ImageOpenException("aio=native was specified, but it requires cache.direct=on, which was not specified.");
        }
    }

    /// <summary>After the file is open: a file.* option nobody took ("Block protocol 'file' doesn't support the option 'x'"),
    /// then the file node's generic options.</summary>
    public static void CheckFileLeftovers(IReadOnlyDictionary<string, string> options)
    {
        if (!FileNodeIsFile(options))
        {
            return;
        }
        var fileKeys = options.Keys.Where(k => k.StartsWith("file.", StringComparison.Ordinal)).Select(k => k["file.".Length..]);
        foreach (string key in QemuOptionSyntax.InQdictOrder(fileKeys))
        {
            if (!FileOptions.Contains(key) && !IsNodeOption(key))
            {
                throw new ImageOpenException($"Block protocol 'file' doesn't support the option '{key}'");
            }
        }
        CheckNode(options, unmap: false, "file.");
    }

    /// <summary>
    /// bdrv_open_common's discard, detect-zeroes and node-name, in that order. <paramref name="unmap"/> is the tool's
    /// BDRV_O_UNMAP default (qemu-io sets it, qemu-img does not), which a discard option overrides.
    /// </summary>
    public static void CheckNode(IReadOnlyDictionary<string, string> options, bool unmap, string prefix = "")
    {
        CheckDiscardAndZeroes(options, unmap, prefix);
        if (options.TryGetValue(prefix + "node-name", out string? name))
        {
            CheckNodeName(name);
        }
    }

    /// <summary>The discard and detect-zeroes options, which an open and a reopen both parse.</summary>
    public static void CheckDiscardAndZeroes(IReadOnlyDictionary<string, string> options, bool unmap, string prefix = "")
    {
        if (options.TryGetValue(prefix + "discard", out string? discard))
        {
            unmap = discard switch
            {
                "ignore" or "off" => false,
                "unmap" or "on" => true,
                _ => throw new ImageOpenException("Invalid discard option"),
            };
        }
        if (options.TryGetValue(prefix + "detect-zeroes", out string? zeroes))
        {
            if (zeroes is not ("off" or "on" or "unmap"))
            {
                throw new ImageOpenException($"invalid parameter value: {zeroes}");
            }
            if (zeroes == "unmap" && !unmap)
            {
                throw new ImageOpenException("setting detect-zeroes to unmap is not allowed without setting discard operation to unmap");
            }
        }
    }

    /// <summary>bdrv_assign_node_name: a letter, then letters, digits, '-', '.' or '_' (id_wellformed), under 32 characters.</summary>
    private static void CheckNodeName(string name)
    {
        bool wellFormed = name.Length > 0 && char.IsAsciiLetter(name[0])
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');
        if (!wellFormed)
        {
            throw new ImageOpenException($"Invalid node-name: '{name}'");
        }
        if (name.Length >= 32)
        {
            throw new ImageOpenException("Node name too long");
        }
    }

    /// <summary>A QEMU_OPT_NUMBER value (qemu_strtou64 in any base; a leading minus wraps around) or QEMU's error.</summary>
    public static ulong ParseNumber(string name, string value)
    {
        switch (QemuNumbers.StrToU64(value, 0, out ulong n))
        {
            case QemuNumbers.Status.Ok:
                return n;
            case QemuNumbers.Status.OutOfRange:
                throw new ImageOpenException($"Value '{value}' is too large for parameter '{name}'");
            default:
                throw new ImageOpenException($"Parameter '{name}' expects a number");
        }
    }
}
