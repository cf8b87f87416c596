using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Snapshots;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>An open qcow2 image.</summary>
public sealed partial class Qcow2Image : BlockDevice
{
    /// <summary>Opens a qcow2 image over storage.</summary>
    public static Qcow2Image Open(IStorage storage, string fileName, OpenOptions options) =>
        throw new ImageOpenException("qcow2 driver not ready");

    /// <summary>Creates a new image file at path (overwriting it), laid out as qemu-img create lays it out.</summary>
    public static void Create(string path, Qcow2CreateOptions options) => throw new ImageOpenException("qcow2 driver not ready");

    /// <summary>The header as last read or written (do not modify).</summary>
    public Header Header { get; } = new();

    /// <summary>Cluster size in bytes.</summary>
    public int ClusterSize => 1 << (int)Header.ClusterBits;

    /// <summary>Refcount width in bits.</summary>
    public int RefcountBits => 1 << (int)Header.RefcountOrder;

    /// <summary>Whether the corrupt bit is set.</summary>
    public bool Corrupt => (Header.IncompatibleFeatures & Features.IncompatCorrupt) != 0;

    /// <summary>Whether the dirty bit is set.</summary>
    public bool Dirty => (Header.IncompatibleFeatures & Features.IncompatDirty) != 0;

    /// <summary>Whether lazy refcounts are on.</summary>
    public bool LazyRefcounts => (Header.CompatibleFeatures & Features.CompatLazyRefcounts) != 0;

    /// <summary>Whether L2 entries are extended.</summary>
    public bool ExtendedL2 => (Header.IncompatibleFeatures & Features.IncompatExtendedL2) != 0;

    /// <summary>"zlib" or "zstd".</summary>
    public string CompressionTypeName => Header.CompressionType == 1 ? "zstd" : "zlib";

    /// <summary>Backing file name as stored in the image, or null.</summary>
    public string? BackingFileName { get; private set; }

    /// <summary>Backing format from the header extension, or null.</summary>
    public string? BackingFormat { get; private set; }

    /// <summary>The opened backing image, or null.</summary>
    public BlockDevice? Backing { get; private set; }

    /// <summary>The internal snapshots in table order.</summary>
    public IReadOnlyList<SnapshotInfo> Snapshots { get; private set; } = [];

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
