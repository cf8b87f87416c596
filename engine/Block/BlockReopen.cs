using Qcow2.Overlap;

namespace Qcow2.Block;

/// <summary>
/// The prepare stage of bdrv_reopen for qemu-io's reopen: every node of the image (the format node, then its backing
/// chain, then each node's file, in bdrv_reopen_queue's order) checks the options it is given before anything changes.
/// A node takes its block-layer flags, discard and detect-zeroes, then its driver takes what it can change; any other
/// option must keep the value the node was opened with ("Cannot change the option 'x'"). Nothing changes here.
/// </summary>
public static class BlockReopen
{
    /// <summary>bdrv_runtime_opts that a reopen absorbs (force-share is not among them: it must stay as it was).</summary>
    private static readonly string[] Flags = ["read-only", "auto-read-only", "cache.direct", "cache.no-flush"];

    /// <summary>The options file-posix's raw_reopen_prepare can change.</summary>
    private static readonly string[] FileFlags = ["drop-cache", "x-check-cache-dropped"];

    /// <summary>
    /// Refuses a reopen of <paramref name="device"/> from <paramref name="opened"/> (the options it was opened with) to
    /// <paramref name="options"/> (the merged new ones) with QEMU's message, or returns. <paramref name="unmap"/> is the
    /// node's BDRV_O_UNMAP flag, which detect-zeroes=unmap needs when no discard option is given.
    /// </summary>
    public static void Prepare(BlockDevice device, IReadOnlyDictionary<string, string> opened, IReadOnlyDictionary<string, string> options, bool unmap)
    {
        var old = new Dictionary<string, string>(opened, StringComparer.Ordinal);
        AddImplied(device, old, "", device.FileName);
        PrepareFormatNode(device, old, options, "", unmap);
    }

    /// <summary>What bdrv_open puts among a node's options besides those given: its driver, its file node's driver and
    /// filename, and the same for the backing chain.</summary>
    private static void AddImplied(BlockDevice node, Dictionary<string, string> old, string prefix, string fileName)
    {
        old.TryAdd(prefix + "driver", node.FormatName);
        old.TryAdd(prefix + "file.driver", "file");
        old.TryAdd(prefix + "file.filename", fileName);
        if (node is Qcow2Image { Backing: { } backing } image)
        {
            AddImplied(backing, old, prefix + "backing.", Qcow2Image.QemuBackingName(fileName, image.BackingFileName!));
        }
    }

    private static void PrepareFormatNode(BlockDevice node, Dictionary<string, string> old, IReadOnlyDictionary<string, string> options,
        string prefix, bool unmap)
    {
        var mine = Slice(options, prefix);
        CheckNodeFlags(mine, unmap);
        var taken = node is Qcow2Image image ? image.CheckReopenOptions(mine) : [];
        BlockDevice? backing = (node as Qcow2Image)?.Backing;
        var children = backing is null ? new[] { "file" } : ["backing", "file"];
        CheckUnchanged(mine, Slice(old, prefix), key => taken.Contains(key) || IsChildOption(key, children));
        if (backing is not null)
        {
            PrepareFormatNode(backing, old, options, prefix + "backing.", unmap);
        }
        PrepareFileNode(old, options, prefix + "file.", unmap);
    }

    /// <summary>The file protocol node: its flags, then raw_reopen_prepare's two options; the rest must not change.</summary>
    private static void PrepareFileNode(Dictionary<string, string> old, IReadOnlyDictionary<string, string> options, string prefix, bool unmap)
    {
        var mine = Slice(options, prefix);
        CheckNodeFlags(mine, unmap);
        foreach (string flag in FileFlags)
        {
            if (mine.TryGetValue(flag, out string? v))
            {
                QemuOptionSyntax.ParseBool(flag, v);
            }
        }
        CheckUnchanged(mine, Slice(old, prefix), key => FileFlags.Contains(key));
    }

    /// <summary>bdrv_reopen_prepare's own options: the flags, then discard and detect-zeroes.</summary>
    private static void CheckNodeFlags(Dictionary<string, string> mine, bool unmap)
    {
        BlockOptions.CheckFlags(mine, forceShare: false);
        BlockOptions.CheckDiscardAndZeroes(mine, unmap);
    }

    /// <summary>Every option that nobody took must equal the one the node was opened with (a child named by reference
    /// must be the current child, which a reopen from qemu-io can never name).</summary>
    private static void CheckUnchanged(Dictionary<string, string> mine, Dictionary<string, string> old, Func<string, bool> taken)
    {
        foreach (string key in QemuOptionSyntax.InQdictOrder(mine.Keys, newestFirst: true))
        {
            if (taken(key) || Flags.Contains(key) || key is "discard" or "detect-zeroes")
            {
                continue;
            }
            if (key is "file" or "backing")
            {
                throw new ImageOpenException($"Cannot find device='' nor node-name='{mine[key]}'");
            }
            if (!old.TryGetValue(key, out string? was) || was != mine[key])
            {
                throw new ImageOpenException($"Cannot change the option '{key}'");
            }
        }
    }

    private static bool IsChildOption(string key, string[] children) =>
        children.Any(c => key.StartsWith(c + ".", StringComparison.Ordinal));

    /// <summary>The options under prefix, without it.</summary>
    private static Dictionary<string, string> Slice(IReadOnlyDictionary<string, string> options, string prefix)
    {
        var slice = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in options)
        {
            if (k.StartsWith(prefix, StringComparison.Ordinal))
            {
                slice[k[prefix.Length..]] = v;
            }
        }
        return slice;
    }
}
