namespace Qcow2.Block;

/// <summary>What a block of guest data is, as qemu-img map and qemu-io map/alloc report it.</summary>
/// <param name="Offset">guest offset where the extent starts</param>
/// <param name="Length">bytes in the extent (all alike)</param>
/// <param name="Allocated">whether this layer itself (not a backing file) holds the data or the zero flag</param>
/// <param name="Data">whether the data is read from some file (false for holes and zero clusters)</param>
/// <param name="Zero">whether the extent reads as zeros</param>
/// <param name="Depth">0 for this image, 1 for its backing file, ...; the chain length when nothing holds it</param>
/// <param name="HostOffset">where the data lives in the file of the layer that holds it, if it is stored plainly</param>
/// <param name="Compressed">whether the data is a compressed cluster</param>
/// <param name="LayerFileName">file name of the layer that holds the data (for JSON maps)</param>
public readonly record struct BlockStatus(
    long Offset, long Length, bool Allocated, bool Data, bool Zero, int Depth, long? HostOffset,
    bool Compressed = false, string? LayerFileName = null);

/// <summary>bdrv_get_info's answer for a node.</summary>
/// <param name="ClusterSize">the format's cluster size (0 for raw)</param>
/// <param name="VmStateOffset">where VM state starts in the guest address space (0 where there is none)</param>
public readonly record struct NodeInfo(long ClusterSize, long VmStateOffset);

/// <summary>An opened image as the tools see it: guest reads and writes plus status queries.</summary>
public abstract class BlockDevice : IDisposable
{
    /// <summary>Driver name: "qcow2" or "raw".</summary>
    public abstract string FormatName { get; }

    /// <summary>File name as given when opening.</summary>
    public required string FileName { get; init; }

    /// <summary>The image locks on this device's file (null when locking is off or the host has no OFD locks).</summary>
    public Storage.ImageLock? FileLock { get; internal set; }

    /// <summary>Virtual size in bytes.</summary>
    public abstract long Size { get; }

    /// <summary>Whether writes are refused.</summary>
    public abstract bool ReadOnly { get; }

    /// <summary>Reads guest data.</summary>
    public abstract void Read(long offset, Span<byte> buffer);

    /// <summary>Writes guest data.</summary>
    public abstract void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Makes a guest range read as zeros (qemu-io write -z).</summary>
    public abstract void WriteZeroes(long offset, long length, bool mayUnmap);

    /// <summary>Writes whole clusters compressed (qemu-io write -c).</summary>
    public abstract void WriteCompressed(long offset, ReadOnlySpan<byte> data);

    /// <summary>Discards a guest range.</summary>
    public abstract void Discard(long offset, long length);

    /// <summary>Flushes caches to the storage.</summary>
    public abstract void Flush();

    /// <summary>The status of the extent that starts at offset, at most length bytes long.</summary>
    public abstract BlockStatus GetStatus(long offset, long length);

    /// <summary>Reads saved VM state (qemu-io read -b); formats without VM state refuse with ENOTSUP.</summary>
    public virtual void ReadVmState(long position, Span<byte> buffer) => throw new BlockIOException(Errno.ENOTSUP);

    /// <summary>Writes VM state (qemu-io write -b); formats without VM state refuse with ENOTSUP.</summary>
    public virtual void WriteVmState(long position, ReadOnlySpan<byte> data) => throw new BlockIOException(Errno.ENOTSUP);

    /// <summary>Changes the virtual size (qemu-img resize).</summary>
    public virtual void Resize(long newSize, bool shrink) => throw new BlockIOException(Errno.ENOTSUP);

    /// <summary>The blkdebug layer under the image, when it was opened with file.driver=blkdebug.</summary>
    public virtual IBlkdebugControl? Blkdebug => null;

    /// <summary>What bdrv_get_info reports for the node (cluster size, VM state offset), or null where QEMU's driver has
    /// none (the file and null protocols), so that qemu-io's info fails.</summary>
    public virtual NodeInfo? Info => null;

    /// <summary>A write from the node above this one (which sees it as its file).</summary>
    internal virtual void WriteFromParent(long offset, ReadOnlySpan<byte> data) => Write(offset, data);

    /// <summary>Whether the node is a protocol (file, null-co) rather than a format or filter.</summary>
    public virtual bool IsProtocol => false;

    /// <summary>Bytes the image file occupies on disk.</summary>
    public abstract long ActualSize { get; }

    /// <summary>A request that does not lie inside the virtual size fails with EIO.</summary>
    protected void ThrowUnlessInRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Size || length > Size - offset)
        {
            throw new BlockIOException(Errno.EIO);
        }
    }

    /// <summary>A write to a read-only device fails with EPERM.</summary>
    protected void ThrowIfReadOnly()
    {
        if (ReadOnly)
        {
            throw new BlockIOException(Errno.EPERM);
        }
    }

    /// <summary>Flushes and releases the image.</summary>
    public abstract void Dispose();
}
