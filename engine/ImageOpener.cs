using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>Opens image files by format, probing as qemu does when no format is given.</summary>
public static class ImageOpener
{
    /// <summary>Opens fileName (resolved against options.BaseDirectory) as options.Format, or as the probed format.</summary>
    public static BlockDevice Open(string fileName, OpenOptions options)
    {
        // A name given as a file.filename option is a path as it stands; any other may carry a protocol prefix.
        bool literal = options.LiteralFileName || JsonFileName.Is(fileName);
        fileName = JsonFileName.Apply(fileName, options);
        if (!literal && fileName.Length > 0)
        {
            fileName = ProtocolPrefix.Resolve(fileName);
            if (ProtocolPrefix.NullProtocol(fileName) is { } nullDriver && options.Format != nullDriver)
            {
                // The name picks the protocol node under the format (or, probed, the format over it).
                options.Options["file.driver"] = nullDriver;
            }
        }
        if (NodeOpener.Describes(options.Format, options.Options))
        {
            return NodeOpener.Open(fileName, options);
        }
        string imageName = Blkdebug.ParseFileName(fileName, options);
        BlockOptions.CheckFlags(options.Options);
        BlockOptions.CheckFileNode(options.Options);
        string path = Path.GetFullPath(imageName, options.BaseDirectory);
        IStorage storage;
        if (Directory.Exists(path))
        {
            // file-posix: open(O_RDWR) of a directory fails with EISDIR; a read-only open succeeds and is then refused.
            throw options.ReadOnly
                ? new ImageOpenException($"'file' driver requires '{imageName}' to be a regular file", Errno.EINVAL)
                : new ImageOpenException($"Could not open '{imageName}': Is a directory", Errno.EISDIR);
        }
        bool forceShare = ForceShare(options);
        try
        {
            storage = new FileStorage(path, options.ReadOnly, Locking(options)) { NoFlush = options.NoFlush };
        }
        catch (FileNotFoundException)
        {
            throw new ImageOpenException($"Could not open '{imageName}': No such file or directory", Errno.ENOENT);
        }
        catch (DirectoryNotFoundException)
        {
            throw new ImageOpenException($"Could not open '{imageName}': No such file or directory", Errno.ENOENT);
        }
        catch (UnauthorizedAccessException)
        {
            throw new ImageOpenException($"Could not open '{imageName}': Permission denied", Errno.EACCES);
        }
        catch (IOException e)
        {
            throw new ImageOpenException($"Could not open '{fileName}': {e.Message}", (Errno)(e.HResult & 0xffff));
        }
        try
        {
            BlockOptions.CheckFileLeftovers(options.Options);
            BlockOptions.CheckNode(options.Options, options.Unmap);
            var file = (FileStorage)storage;
            storage = Blkdebug.Wrap(storage, options);
            string format = options.Format ?? Probe(storage);
            if (file.Lock is { } fileLock && format is "qcow2" or "raw" or "luks")
            {
                PermissionPair p = ImagePermissions.ForFile(format, options.LockParent ?? ImagePermissions.ForTool(options),
                    !options.ReadOnly, options.NoIo, forceShare);
                fileLock.Update(p.Perm, p.Shared, options.LockName ?? fileName);
            }
            BlockDevice device = format switch
            {
                "qcow2" => Qcow2Image.Open(storage, fileName, options),
                "raw" => OpenRaw(storage, fileName, options),
                "luks" => LuksDevice.Open(storage, fileName, options),
                "qcow" => throw new ImageOpenException(
                    "QCOW version 1 images (QEMU's qcow driver) are not supported by this engine", Errno.ENOTSUP),
                _ when options.Format is null => throw new ImageOpenException(
                    $"the file looks like a '{format}' image, a format this engine does not support (only qcow2, raw and luks)", Errno.ENOTSUP),
                _ => throw new ImageOpenException($"Unknown driver '{format}'"),
            };
            device.FileLock = file.Lock;
            return device;
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>The options a json: file name holds, flattened into dotted keys with their JSON types kept (string, bool, long,
    /// double, null), in the order written; null when the name is not a json: one.</summary>
    public static IReadOnlyList<KeyValuePair<string, object?>>? JsonOptions(string fileName) => JsonFileName.TypedOptions(fileName);

    /// <summary>bdrv_open's error for options that name no image file: the file child's options without a driver or a
    /// file name, or a blkdebug file node without its image child.</summary>
    public static string MissingFileError(IReadOnlyDictionary<string, string> options) =>
        options.GetValueOrDefault("file.driver") == "blkdebug" ? "A block device must be specified for \"image\""
        : !options.ContainsKey("file.driver") && options.Keys.Any(k => k.StartsWith("file.", StringComparison.Ordinal))
            ? "Must specify either driver or file"
            : "A block device must be specified for \"file\"";

    /// <summary>Whether a file name starts with a protocol prefix (QEMU's path_has_protocol).</summary>
    public static bool HasProtocol(string fileName) => ProtocolPrefix.HasProtocol(fileName);

    /// <summary>Whether the options describe the image's nodes themselves (a protocol or filter driver, or a file node with
    /// a driver other than file), so that no file name is needed apart from them.</summary>
    public static bool DescribesNodes(string? format, IReadOnlyDictionary<string, string> options) => NodeOpener.Describes(format, options);

    /// <summary>The raw driver: its offset and size options make a window of the file; others are not the raw driver's
    /// ("Block format 'raw' does not support the option 'x'").</summary>
    private static RawDevice OpenRaw(IStorage storage, string fileName, OpenOptions options)
    {
        foreach (string key in Overlap.QemuOptionSyntax.InQdictOrder(options.Options.Keys))
        {
            if (key is "offset" or "size")
            {
                Overlap.QemuOptionSyntax.ParseSize(key, options.Options[key]);
            }
            else if (!BlockOptions.IsNodeOption(key))
            {
                throw new ImageOpenException($"Block format 'raw' does not support the option '{key}'");
            }
        }
        return new RawDevice(WindowStorage.Open(storage, options.Options))
        {
            FileName = fileName,
            Probed = options.Format is null,
            Driver = options.FileNode ? "file" : "raw",
        };
    }

    /// <summary>force-share: the -U flag or the force-share=on option, which QEMU allows on read-only opens only.</summary>
    private static bool ForceShare(OpenOptions options)
    {
        bool on = options.ForceShare
            || (options.Options.TryGetValue("force-share", out var v) && Overlap.QemuOptionSyntax.ParseBool("force-share", v));
        if (on && !options.ReadOnly)
        {
            throw new ImageOpenException("force-share=on can only be used with read-only images");
        }
        return on;
    }

    /// <summary>The file driver's locking option (file.locking=on|off|auto): auto locks where the host has OFD locks.</summary>
    private static bool Locking(OpenOptions options) =>
        !options.Options.TryGetValue("file.locking", out var v) ? true : v switch
        {
            "on" or "auto" => true,
            "off" => false,
            _ => throw new ImageOpenException($"invalid parameter value: {v}"),
        };

    /// <summary>The format a file looks like, as QEMU probes its first sector (<see cref="FormatSniffer"/>): "qcow2", "raw",
    /// or another format's name, which Open refuses (the QCOW magic with version 1 is "qcow", QEMU's old qcow driver).</summary>
    public static string Probe(IStorage storage)
    {
        Span<byte> b = stackalloc byte[FormatSniffer.ProbeBytes];
        storage.Read(0, b);
        return FormatSniffer.Sniff(b);
    }
}
