using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>An open qcow2 image.</summary>
public sealed partial class Qcow2Image : BlockDevice
{
    /// <summary>Opens a qcow2 image over storage.</summary>
    public static Qcow2Image Open(IStorage storage, string fileName, OpenOptions options) =>
        throw new ImageOpenException("qcow2 driver not ready");

    /// <inheritdoc/>
    public override string FormatName => "qcow2";
    public override long Size => 0;
    public override bool ReadOnly => true;
    public override long ActualSize => 0;
    public override void Read(long offset, Span<byte> buffer) => throw new BlockIOException(Errno.EIO);
    public override void Write(long offset, ReadOnlySpan<byte> data) => throw new BlockIOException(Errno.EIO);
    public override void WriteZeroes(long offset, long length, bool mayUnmap) => throw new BlockIOException(Errno.EIO);
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data) => throw new BlockIOException(Errno.EIO);
    public override void Discard(long offset, long length) => throw new BlockIOException(Errno.EIO);
    public override void Flush() { }
    public override BlockStatus GetStatus(long offset, long length) => throw new BlockIOException(Errno.EIO);
    public override void Dispose() { }
}
