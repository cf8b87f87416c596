namespace Qcow2.Block;

/// <summary>How to open an image: the flags qemu-img and qemu-io pass, plus the image options (-o / --image-opts).</summary>
public sealed class OpenOptions
{
    /// <summary>Format to open as; null probes it.</summary>
    public string? Format { get; set; }

    /// <summary>Open read-only.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Open for qemu-img check -r: allowed even when the image is marked corrupt.</summary>
    public bool CheckMode { get; set; }

    /// <summary>Flush after every write, as a writethrough cache mode does (qemu-io's default; qemu-img uses writeback).</summary>
    public bool WriteThrough { get; set; }

    /// <summary>BDRV_O_NO_FLUSH (cache mode unsafe, qemu-img convert's default for the target): flushes still write the
    /// image's caches back, but never reach the host file's disk (no fdatasync).</summary>
    public bool NoFlush { get; set; }

    /// <summary>Do not open backing files (qemu-img info, -U style probing).</summary>
    public bool NoBacking { get; set; }

    /// <summary>Metadata only, as qemu-img info opens images (BDRV_O_NO_IO): the data file is not looked at.</summary>
    public bool NoIo { get; set; }

    /// <summary>Share every permission with other users of the file (-U / force-share=on); only for read-only opens.</summary>
    public bool ForceShare { get; set; }

    /// <summary>Share only reading and unchanged writes (BDRV_O_NO_SHARE, as qemu-img convert opens its sources): even a raw
    /// source then refuses writers.</summary>
    public bool NoShare { get; set; }

    /// <summary>The file name came from a file.filename option (--image-opts, -o), so it is a path even where it looks like
    /// it has a protocol prefix (<c>a:b.qcow2</c>).</summary>
    public bool LiteralFileName { get; set; }

    /// <summary>Opens the file protocol node itself as the device (driver=file): a raw view named "file".</summary>
    internal bool FileNode { get; set; }

    /// <summary>The passphrase of an image just created, reopened to preallocate it (in place of encrypt.key-secret).</summary>
    internal string? CreatedPassword { get; init; }

    /// <summary>The LUKS master key of an image just created: checked against the header instead of unlocking a slot again.</summary>
    internal byte[]? CreatedMasterKey { get; init; }

    /// <summary>BDRV_O_UNMAP: discard requests may reach the file (qemu-io's default, changed by its -d; qemu-img leaves it
    /// off). The discard option overrides it; detect-zeroes=unmap needs it.</summary>
    public bool Unmap { get; set; }

    /// <summary>Take the resize permission (BDRV_O_RESIZE, as qemu-img resize opens).</summary>
    public bool Resize { get; set; }

    /// <summary>The permissions of the node above this image when it is opened as a backing file; null for the tool's own open.</summary>
    internal PermissionPair? LockParent { get; init; }

    /// <summary>The file name QEMU would show for this file in a lock hint (bs->filename); null for the name opened.</summary>
    internal string? LockName { get; init; }

    /// <summary>Image options by dotted name, e.g. "overlap-check", "file.driver", "overlap-check.active-l1".</summary>
    public Dictionary<string, string> Options { get; } = new(StringComparer.Ordinal);

    /// <summary>Where the engine prints its diagnostics (QEMU's stderr lines such as "qcow2: Marking image as corrupt: ...").</summary>
    public TextWriter Diagnostics { get; set; } = TextWriter.Null;

    /// <summary>What starts the lines QEMU prints with error_report while the image is open or closed ("qemu-img: " in qemu-img; empty by default).</summary>
    public string ReportPrefix { get; set; } = "";

    /// <summary>Where the engine's "stdout" messages go (blkdebug's "Suspended request" lines).</summary>
    public TextWriter Messages { get; set; } = TextWriter.Null;

    /// <summary>Called on a request's thread just before a blkdebug breakpoint blocks it (the tag is the breakpoint's).</summary>
    public Action<string>? RequestSuspended { get; set; }

    /// <summary>Full paths of the images above this one in a backing chain (cycle detection).</summary>
    internal IReadOnlyList<string> ChainAbove { get; init; } = [];

    /// <summary>Receives QMP-style events (BLOCK_IMAGE_CORRUPTED, QCOW2_OVERLAP_CHECK_MEMORY_LIMIT_REACHED).</summary>
    public Action<QmpEvent>? Events { get; set; }

    /// <summary>Directory that relative file names are resolved against.</summary>
    public string BaseDirectory { get; set; } = Environment.CurrentDirectory;

    /// <summary>Device name reported in events ("" when none).</summary>
    public string DeviceName { get; set; } = "";

    /// <summary>Node name reported in events; null for none.</summary>
    public string? NodeName { get; set; }

    /// <summary>The clock that dates new snapshots (QEMU's g_get_real_time); tests give a fixed one for reproducible images.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;
}

/// <summary>A QMP event: name and data members in the order QEMU prints them.</summary>
public sealed record QmpEvent(string Name, IReadOnlyList<KeyValuePair<string, object?>> Data);
