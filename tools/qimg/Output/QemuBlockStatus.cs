using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// bdrv_block_status_above(bs, NULL, ...) with want_zero as qemu-img compare sees it: the BDRV_BLOCK_* flags of the
/// extent at an offset over the whole backing chain, including the file driver's holes for raw images and for qcow2
/// data clusters of metadata-preallocated images, and the EOF flag of the top layer.
/// </summary>
public sealed class QemuBlockStatus(ToolContext ctx) : IDisposable
{
    /// <summary>BDRV_BLOCK_DATA: reads come from a file.</summary>
    public const int Data = 0x01;

    /// <summary>BDRV_BLOCK_ZERO: the extent reads as zeros.</summary>
    public const int Zero = 0x02;

    /// <summary>BDRV_BLOCK_OFFSET_VALID: a host offset is known.</summary>
    public const int OffsetValid = 0x04;

    /// <summary>BDRV_BLOCK_ALLOCATED: some layer holds the extent.</summary>
    public const int Allocated = 0x10;

    /// <summary>BDRV_BLOCK_EOF: the extent reaches the end of the device.</summary>
    public const int Eof = 0x20;

    private readonly Dictionary<BlockDevice, FileStream?> _hosts = [];
    private readonly Dictionary<BlockDevice, bool> _preallocated = [];

    /// <summary>The flags of the extent at offset over dev's chain and its length (at most bytes).</summary>
    public (int Flags, long Length) Above(BlockDevice dev, long offset, long bytes)
    {
        var (ret, pnum) = Layer(dev, offset, bytes);
        if (pnum == 0 || (ret & Allocated) != 0)
        {
            return (ret, pnum);
        }
        long eof = (ret & Eof) != 0 ? offset + pnum : -1;
        bytes = pnum;
        for (BlockDevice? p = (dev as Qcow2Image)?.Backing; p is not null; p = (p as Qcow2Image)?.Backing)
        {
            (ret, pnum) = Layer(p, offset, bytes);
            if (pnum == 0)
            {
                // Zeros synthesised past the end of a short backing file count as allocated there.
                pnum = bytes;
                ret = Zero | Allocated;
                break;
            }
            if ((ret & Allocated) != 0)
            {
                ret &= ~Eof;
                break;
            }
            bytes = pnum;
        }
        if (offset + pnum == eof)
        {
            ret |= Eof;
        }
        return (ret, pnum);
    }

    /// <summary>bdrv_co_block_status for one layer.</summary>
    private (int Flags, long Length) Layer(BlockDevice dev, long offset, long bytes)
    {
        long total = ChainStatus.QemuLength(dev);
        if (offset >= total)
        {
            return (Eof, 0);
        }
        bytes = Math.Min(bytes, total - offset);
        int ret;
        long pnum;
        if (dev is Qcow2Image q)
        {
            BlockStatus s = q.GetStatus(offset, bytes);
            pnum = s.Length;
            ret = (s.Data ? Data : 0) | (s.HostOffset is not null ? OffsetValid : 0);
            bool zeroCluster = s.Allocated && !s.Data;
            if (zeroCluster)
            {
                ret |= Zero;
            }
            if ((ret & (Data | Zero)) != 0)
            {
                ret |= Allocated;
            }
            else if (q.Backing is null || offset >= ChainStatus.QemuLength(q.Backing))
            {
                ret |= Zero;
            }
            if (s.Data && !s.Compressed && s.HostOffset is long host && IsPreallocated(q))
            {
                var (fileData, fileLen, fileEof) = FileStatus(q, host, pnum);
                if (fileEof && (fileLen == 0 || !fileData))
                {
                    ret |= Zero;
                }
                else
                {
                    pnum = fileLen;
                    ret |= fileData ? 0 : Zero;
                }
            }
        }
        else
        {
            // raw: the file driver answers, data or hole, always with a valid offset.
            var (fileData, fileLen, _) = FileStatus(dev, offset, bytes);
            pnum = fileLen;
            ret = (fileData ? Data : Zero) | OffsetValid | Allocated;
        }
        if (offset + pnum == total)
        {
            ret |= Eof;
        }
        return (ret, pnum);
    }

    private bool IsPreallocated(Qcow2Image q)
    {
        if (!_preallocated.TryGetValue(q, out bool p))
        {
            FileStream? host = Host(q);
            p = host is not null && MetadataPreallocation.Detect(q, host);
            _preallocated[q] = p;
        }
        return p;
    }

    private (bool Data, long Length, bool Eof) FileStatus(BlockDevice dev, long offset, long bytes) =>
        HostExtents.FileStatus(Host(dev), offset, bytes);

    private FileStream? Host(BlockDevice dev)
    {
        if (!_hosts.TryGetValue(dev, out FileStream? host))
        {
            try
            {
                host = new FileStream(ctx.Resolve(dev.FileName), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                host = null;
            }
            _hosts[dev] = host;
        }
        return host;
    }

    /// <summary>Closes the host files opened for hole queries.</summary>
    public void Dispose()
    {
        foreach (FileStream? f in _hosts.Values)
        {
            f?.Dispose();
        }
    }
}
