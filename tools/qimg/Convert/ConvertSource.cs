using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>One opened source image of qimg convert: its length in sectors, its alignment and its block status over the chain.</summary>
public sealed class ConvertSource : IDisposable
{
    private readonly ChainStatus _status;

    /// <summary>Wraps an opened source image shown under the given name.</summary>
    public ConvertSource(ToolContext ctx, BlockDevice device, string name)
    {
        Device = device;
        Name = name;
        _status = new ChainStatus(ctx, device, name);
        // blk_nb_sectors: a qcow2 image's size in whole sectors (rounded down), a raw file's rounded up.
        Sectors = device is Qcow2Image ? device.Size / ConvertSectors.SectorSize : ChainStatus.QemuLength(device) / ConvertSectors.SectorSize;
        // The request alignment (one sector for files) or, where the driver reports one, the cluster size.
        Alignment = device is Qcow2Image q ? Math.Max(1, q.ClusterSize / ConvertSectors.SectorSize) : 1;
    }

    /// <summary>The opened image (with its backing chain).</summary>
    public BlockDevice Device { get; }

    /// <summary>The name given on the command line.</summary>
    public string Name { get; }

    /// <summary>Length in 512-byte sectors, as the block layer counts it.</summary>
    public long Sectors { get; }

    /// <summary>Sectors that block status runs are trimmed to (src_alignment).</summary>
    public int Alignment { get; }

    /// <summary>What a block status query over the chain found.</summary>
    public readonly record struct Status(long Bytes, bool Data, bool Zero);

    /// <summary>
    /// bdrv_block_status_above from this image down to the bottom of its chain, or, with topOnly, down to its backing
    /// file (which is then not asked: a range the top does not hold is neither data nor zero unless it lies past the
    /// backing file's end).
    /// </summary>
    public Status Query(long offset, long bytes, bool topOnly)
    {
        long length = Sectors * ConvertSectors.SectorSize;
        bytes = Math.Min(bytes, length - offset);
        if (topOnly && Device is Qcow2Image q && q.GetStatus(offset, bytes) is { Allocated: false } s)
        {
            // The whole run the top leaves unallocated, not cut where the backing file ends: only its start decides
            // whether it reads as zeros (past the backing file's end) or is left to the backing file.
            bool zero = q.Backing is null || offset >= ChainStatus.QemuLength(q.Backing);
            return new Status(s.Length, false, zero);
        }
        MapCommand.Entry e = _status.Get(offset, bytes);
        return new Status(e.Length, e.Data, e.Zero);
    }

    /// <summary>Whether reading the range touches a compressed cluster in the image or, where it defers, its backing chain.</summary>
    public static bool ReadsCompressed(BlockDevice device, long offset, long bytes)
    {
        bytes = Math.Min(bytes, device.Size - offset);
        while (bytes > 0)
        {
            BlockStatus s = device.GetStatus(offset, bytes);
            if (s.Length <= 0)
            {
                break;
            }
            if (s.Compressed)
            {
                return true;
            }
            if (!s.Allocated && device is Qcow2Image { Backing: BlockDevice backing } && ReadsCompressed(backing, offset, s.Length))
            {
                return true;
            }
            offset += s.Length;
            bytes -= s.Length;
        }
        return false;
    }

    /// <summary>Reads guest data; bytes past the device's end read as zeros.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        long avail = Math.Max(0, Device.Size - offset);
        int n = (int)Math.Min(buffer.Length, avail);
        if (n > 0)
        {
            Device.Read(offset, buffer[..n]);
        }
        buffer[n..].Clear();
    }

    /// <summary>Closes the hole-query files and the image.</summary>
    public void Dispose()
    {
        _status.Dispose();
        Device.Dispose();
    }
}
