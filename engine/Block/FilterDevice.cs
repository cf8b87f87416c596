namespace Qcow2.Block;

/// <summary>A filter node over one child ("file"): every request passes through unless the filter changes it.</summary>
public class FilterDevice : BlockDevice
{
    /// <summary>Makes a filter node named driver over child.</summary>
    protected FilterDevice(string driver, BlockDevice child)
    {
        FormatName = driver;
        Child = child;
    }

    /// <summary>The filtered node.</summary>
    public BlockDevice Child { get; }

    /// <inheritdoc/>
    public override string FormatName { get; }

    /// <inheritdoc/>
    public override long Size => Child.Size;

    /// <inheritdoc/>
    public override bool ReadOnly => Child.ReadOnly;

    /// <inheritdoc/>
    public override long ActualSize => Child.ActualSize;

    /// <inheritdoc/>
    public override NodeInfo? Info => Child.Info;

    /// <inheritdoc/>
    public override IBlkdebugControl? Blkdebug => Child.Blkdebug;

    /// <inheritdoc/>
    public override void Read(long offset, Span<byte> buffer) => Child.Read(offset, buffer);

    /// <inheritdoc/>
    public override void Write(long offset, ReadOnlySpan<byte> data) => Child.Write(offset, data);

    /// <inheritdoc/>
    public override void WriteZeroes(long offset, long length, bool mayUnmap) => Child.WriteZeroes(offset, length, mayUnmap);

    /// <inheritdoc/>
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data) => Child.WriteCompressed(offset, data);

    /// <inheritdoc/>
    public override void Discard(long offset, long length) => Child.Discard(offset, length);

    /// <inheritdoc/>
    public override void Flush() => Child.Flush();

    /// <inheritdoc/>
    public override BlockStatus GetStatus(long offset, long length) => Child.GetStatus(offset, length);

    /// <inheritdoc/>
    public override void Resize(long newSize, bool shrink) => Child.Resize(newSize, shrink);

    /// <inheritdoc/>
    public override void Dispose() => Child.Dispose();
}

/// <summary>QEMU's compress filter: every write to it is a compressed write to its child (BDRV_REQ_WRITE_COMPRESSED).</summary>
public sealed class CompressFilter : FilterDevice
{
    private CompressFilter(BlockDevice child) : base("compress", child)
    {
    }

    /// <summary>compress_open: the child's format must write compressed clusters.</summary>
    public static CompressFilter Open(BlockDevice child)
    {
        if (child is not Qcow2Image)
        {
            child.Dispose();
            throw new ImageOpenException($"Compression is not supported for underlying format: {child.FormatName}", Errno.ENOTSUP);
        }
        return new CompressFilter(child) { FileName = child.FileName };
    }

    /// <summary>
    /// The filter's request alignment is the child's cluster size, so the block layer pads a write to whole clusters with
    /// what is there (read-modify-write) before it is compressed; the last cluster ends with the image.
    /// </summary>
    public override void Write(long offset, ReadOnlySpan<byte> data)
    {
        long cluster = Child.Info?.ClusterSize ?? 512;
        long start = offset / cluster * cluster;
        long end = Math.Min(Math.Max(Child.Size, offset + data.Length), (offset + data.Length + cluster - 1) / cluster * cluster);
        if (start == offset && end == offset + data.Length)
        {
            Child.WriteCompressed(offset, data);
            return;
        }
        var padded = new byte[end - start];
        Child.Read(start, padded.AsSpan(0, (int)(Math.Min(end, Child.Size) - start)));
        data.CopyTo(padded.AsSpan((int)(offset - start)));
        Child.WriteCompressed(start, padded);
    }
}

/// <summary>
/// QEMU's copy-on-read filter: a read of clusters its child does not hold itself copies them into the child (zeros as a
/// zero write), whole clusters at a time, as bdrv_co_do_copy_on_readv does.
/// </summary>
public sealed class CopyOnReadFilter : FilterDevice
{
    private CopyOnReadFilter(BlockDevice child) : base("copy-on-read", child)
    {
    }

    /// <summary>Puts the filter over child, which it must be able to write (it takes the write-unchanged permission).</summary>
    public static CopyOnReadFilter Open(BlockDevice child)
    {
        if (child.ReadOnly)
        {
            child.Dispose();
            throw new ImageOpenException("Block node is read-only", Errno.EPERM);
        }
        return new CopyOnReadFilter(child) { FileName = child.FileName };
    }

    /// <inheritdoc/>
    public override void Read(long offset, Span<byte> buffer)
    {
        if (buffer.IsEmpty || offset < 0 || offset > Child.Size || buffer.Length > Child.Size - offset)
        {
            Child.Read(offset, buffer);
            return;
        }
        long cluster = Math.Max(512, Child.Info?.ClusterSize ?? 0);
        long start = offset / cluster * cluster;
        long end = Math.Min(Child.Size, (offset + buffer.Length + cluster - 1) / cluster * cluster);
        for (long at = start; at < end;)
        {
            var status = Child.GetStatus(at, end - at);
            long n = Math.Max(1, status.Length);
            if (!status.Allocated)
            {
                CopyUp(at, n);
            }
            at += n;
        }
        Child.Read(offset, buffer);
    }

    private void CopyUp(long offset, long length)
    {
        const int Chunk = 1 << 20;
        var bounce = new byte[(int)Math.Min(length, Chunk)];
        for (long done = 0; done < length; done += bounce.Length)
        {
            var part = bounce.AsSpan(0, (int)Math.Min(bounce.Length, length - done));
            Child.Read(offset + done, part);
            if (!part.ContainsAnyExcept((byte)0))
            {
                Child.WriteZeroes(offset + done, part.Length, mayUnmap: false);
            }
            else
            {
                Child.Write(offset + done, part);
            }
        }
    }
}
