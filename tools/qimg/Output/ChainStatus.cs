using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qemu-img's get_block_status over a backing chain: asks each layer in turn (BlockDevice.GetStatus answers for one
/// layer) until one holds the range or reads it as zeros, and adds what qemu's generic block layer adds: zeros for
/// unallocated ranges past the end of the backing file, the file's holes for raw images, and, for qcow2 images
/// preallocated with metadata, zeros where a data cluster's host range is a hole in the image file. Layer file names are the ones qemu shows (backing names resolved against the image's directory).
/// </summary>
public sealed class ChainStatus : IDisposable
{
    /// <summary>qemu's BDRV_SECTOR_SIZE: block device lengths are whole sectors.</summary>
    public const long SectorSize = 512;

    private readonly List<Layer> _layers = [];
    private readonly ToolContext _ctx;

    private sealed class Layer(BlockDevice device, string name, string? shown = null)
    {
        public BlockDevice Device { get; } = device;

        /// <summary>The file's name, which backing names resolve against and hole queries open.</summary>
        public string Name { get; } = name;

        /// <summary>The name map prints for data in this layer (bs->filename of the node holding it).</summary>
        public string Shown { get; } = shown ?? name;

        public FileStream? Host { get; set; }

        public bool HostOpenFailed { get; set; }

        public bool? MetadataPreallocated { get; set; }
    }

    /// <summary>Wraps an opened image (with its backing chain) whose file is name, its data shown as shown (name when null).</summary>
    public ChainStatus(ToolContext ctx, BlockDevice top, string name, string? shown = null)
    {
        _ctx = ctx;
        _layers.Add(new Layer(top, name, shown));
    }

    /// <summary>bdrv_getlength: the device's size in whole sectors (a raw file's length is rounded up).</summary>
    public static long QemuLength(BlockDevice dev) =>
        dev is Qcow2Image ? dev.Size : (dev.Size + SectorSize - 1) / SectorSize * SectorSize;

    private Layer? LayerAt(int depth)
    {
        while (_layers.Count <= depth)
        {
            Layer last = _layers[^1];
            if (last.Device is not Qcow2Image { Backing: BlockDevice backing } q)
            {
                return null;
            }
            _layers.Add(new Layer(backing, ImageArgs.CombineBackingPath(last.Name, q.BackingFileName ?? backing.FileName)));
        }
        return _layers[depth];
    }

    /// <summary>The merged-map entry for the range at offset, at most bytes long.</summary>
    public MapCommand.Entry Get(long offset, long bytes)
    {
        int depth = 0;
        Layer layer = _layers[0];
        LayerAnswer a;
        for (;;)
        {
            a = Query(layer, offset, bytes);
            bytes = a.Length;
            if (a.Data || a.Zero)
            {
                break;
            }
            Layer? next = LayerAt(depth + 1);
            if (next is null)
            {
                a = new LayerAnswer(bytes, false, false, false, null);
                break;
            }
            depth++;
            layer = next;
        }
        return new MapCommand.Entry
        {
            Start = offset,
            Length = bytes,
            Data = a.Data,
            Zero = a.Zero,
            Offset = a.HostOffset,
            Depth = depth,
            Present = a.Allocated,
            // With an external data file, data lives (and is mapped) in the data file.
            Filename = a.HostOffset is null ? null : (layer.Device as Qcow2Image)?.DataFileOpenedName ?? layer.Shown,
        };
    }

    private readonly record struct LayerAnswer(long Length, bool Allocated, bool Data, bool Zero, long? HostOffset);

    private LayerAnswer Query(Layer layer, long offset, long bytes)
    {
        BlockDevice dev = layer.Device;
        bytes = Math.Min(bytes, QemuLength(dev) - offset);
        if (dev is not Qcow2Image && dev.FormatName is not ("raw" or "file"))
        {
            // A filter passes the question to its child; null-co answers for itself (data never, zeros with read-zeroes).
            BlockStatus f = dev.GetStatus(offset, bytes);
            return new LayerAnswer(f.Length, f.Allocated, f.Data, f.Zero, f.Data || f.Zero ? f.HostOffset : null);
        }
        if (dev is RawDevice { Child: BlockDevice child } raw)
        {
            // raw over another node passes the question to it, offset by its window.
            BlockStatus c = child.GetStatus(offset + raw.WindowOffset, bytes);
            return new LayerAnswer(c.Length, c.Allocated, c.Data, c.Zero, c.Data ? c.HostOffset : null);
        }
        if (dev is not Qcow2Image q)
        {
            // The raw format passes the question to its file: data or hole, allocated either way.
            long window = (dev as RawDevice)?.WindowOffset ?? 0;
            (bool fileData, long fileLen, _) = FileStatus(layer, offset + window, bytes);
            return new LayerAnswer(fileLen, true, fileData, !fileData, offset + window);
        }
        BlockStatus s = dev.GetStatus(offset, bytes);
        bool zero = s.Zero;
        long length = s.Length;
        if (!s.Data && !zero && !s.Allocated && (q.Backing is null || offset >= QemuLength(q.Backing)))
        {
            zero = true;
        }
        if (s.Data && !zero && s.HostOffset is long host && !s.Compressed && IsMetadataPreallocated(layer, q))
        {
            (bool fileData, long fileLen, bool eof) = FileStatus(layer, host, length);
            if (eof && (fileLen == 0 || !fileData))
            {
                zero = true;
            }
            else
            {
                length = fileLen;
                zero = !fileData;
            }
        }
        return new LayerAnswer(length, s.Allocated, s.Data, zero, s.HostOffset);
    }

    /// <summary>Whether qemu's qcow2 driver would ask the file about holes under data clusters (checked once per layer).</summary>
    private bool IsMetadataPreallocated(Layer layer, Qcow2Image q)
    {
        if (layer.MetadataPreallocated is null)
        {
            FileStream? host = HostFile(layer);
            layer.MetadataPreallocated = host is not null && MetadataPreallocation.Detect(q, host);
        }
        return layer.MetadataPreallocated.Value;
    }

    /// <summary>The file driver's answer at a host offset: data or hole, its length, and whether it reaches the end of the file.</summary>
    private (bool Data, long Length, bool Eof) FileStatus(Layer layer, long offset, long bytes) =>
        HostExtents.FileStatus(HostFile(layer), offset, bytes);

    private FileStream? HostFile(Layer layer)
    {
        if (layer.Host is null && !layer.HostOpenFailed)
        {
            try
            {
                layer.Host = new FileStream(_ctx.Resolve(layer.Name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                layer.HostOpenFailed = true;
            }
        }
        return layer.Host;
    }

    /// <summary>Closes the host files opened for hole queries (the devices belong to the caller).</summary>
    public void Dispose()
    {
        foreach (Layer l in _layers)
        {
            l.Host?.Dispose();
        }
    }
}
