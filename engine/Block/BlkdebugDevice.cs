namespace Qcow2.Block;

/// <summary>
/// A blkdebug node over a format or protocol node (driver=blkdebug with its child under "image.", as QEMU's iotest 177
/// opens it): requests reach the child shaped to the node's limits (align, max-transfer, ...), and its rules apply.
/// </summary>
public sealed class BlkdebugDevice : FilterDevice
{
    private readonly Blkdebug _node;

    private BlkdebugDevice(BlockDevice child, Blkdebug node) : base("blkdebug", child) => _node = node;

    /// <summary>Puts a blkdebug node over child; its own options (config, rules, limits) are given without a prefix.</summary>
    internal static BlkdebugDevice Open(BlockDevice child, OpenOptions options, IEnumerable<KeyValuePair<string, string>> own)
    {
        var layer = new OpenOptions
        {
            Messages = options.Messages,
            RequestSuspended = options.RequestSuspended,
            BaseDirectory = options.BaseDirectory,
        };
        layer.Options["file.driver"] = "blkdebug";
        foreach (var (k, v) in own)
        {
            layer.Options["file." + k] = v;
        }
        try
        {
            var node = (Blkdebug)Block.Blkdebug.Wrap(new DeviceStorage(child), layer);
            // bdrv_node_refresh_perm: a user that writes without the resize permission (qemu-io, qemu-img) cannot pad a
            // request past the end, so the size (in whole sectors) must be a multiple of the request alignment.
            if (!options.ReadOnly && (child.Size + 511) / 512 * 512 % node.RequestAlignment != 0)
            {
                throw new ImageOpenException(
                    "Cannot get 'write' permission without 'resize': Image size is not a multiple of request alignment", Errno.EPERM);
            }
            return new BlkdebugDevice(child, node) { FileName = child.FileName };
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override IBlkdebugControl? Blkdebug => _node;

    /// <inheritdoc/>
    public override void Read(long offset, Span<byte> buffer) => _node.Read(offset, buffer);

    /// <inheritdoc/>
    public override void Write(long offset, ReadOnlySpan<byte> data) => _node.Write(offset, data);

    /// <inheritdoc/>
    public override void WriteZeroes(long offset, long length, bool mayUnmap) => _node.WriteZeroes(offset, length, mayUnmap);

    /// <summary>blkdebug has no compressed write: the block layer answers ENOTSUP.</summary>
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data) => throw new BlockIOException(Errno.ENOTSUP);

    /// <inheritdoc/>
    public override void Discard(long offset, long length) => _node.Discard(offset, length);

    /// <inheritdoc/>
    public override void Flush() => _node.Flush();

    /// <inheritdoc/>
    public override void Dispose() => _node.Dispose();
}
