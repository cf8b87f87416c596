using Qcow2.Storage;

namespace Qcow2.Block;

/// <summary>A node's guest content as the store of the node above it (qcow2 or raw over a qcow2, a filter or null-co).</summary>
internal sealed class DeviceStorage(BlockDevice node) : IStorage
{
    /// <summary>The node underneath.</summary>
    public BlockDevice Node => node;

    public long Length => node.Size;

    public bool ReadOnly => node.ReadOnly;

    public long AllocatedSize => node.ActualSize;

    public void Read(long offset, Span<byte> buffer)
    {
        int n = (int)Math.Clamp(node.Size - offset, 0, buffer.Length);
        node.Read(offset, buffer[..n]);
        buffer[n..].Clear();
    }

    public void Write(long offset, ReadOnlySpan<byte> data) => node.WriteFromParent(offset, data);

    public void WriteZeroes(long offset, long length) => WriteZeroes(offset, length, mayUnmap: false);

    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        if (node is RawDevice && offset + length > node.Size)
        {
            // Past the end of a raw node the parent's zero write grows the file underneath.
            node.Resize(offset + length, shrink: false);
        }
        node.WriteZeroes(offset, length, mayUnmap);
    }

    public void SetLength(long length) => node.Resize(length, shrink: true);

    public void Flush() => node.Flush();

    public void Discard(long offset, long length) => node.Discard(offset, length);

    public void Dispose() => node.Dispose();
}
