using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Snapshots;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>An open qcow2 image: QEMU's qcow2 driver, with its allocation order, caches and overlap checks.</summary>
public sealed partial class Qcow2Image : BlockDevice
{
    /// <summary>The image file; an <see cref="OverlayStorage"/> while a crash-safe operation runs (see Qcow2Image.CrashSafe.cs).</summary>
    private IStorage _file;
    private readonly OpenOptions _options;
    private readonly bool _readOnly;
    private Header _header = new();
    private List<HeaderExtension> _unknownExtensions = new();

    private int _clusterBits;
    private int _clusterSize;
    private int _l2Bits;
    private int _l2Size;
    private int _l2EntrySize = L2Entry.Size;

    private ulong[] _l1Table = [];
    private long _l1TableOffset;
    private int _l1Size;

    private MetadataCache _l2Cache = null!;


    /// <summary>Set once a fatal corruption made the image unusable (QEMU sets bs->drv to NULL).</summary>
    private bool _unusable;

    /// <summary>Set while Close stores bitmaps and flushes the caches (qcow2_inactivate).</summary>
    private bool _inactivating;

    private bool _signaledCorruption;
    private bool _disposed;

    private Qcow2Image(IStorage file, OpenOptions options)
    {
        _file = file;
        _options = options;
        _readOnly = options.ReadOnly || file.ReadOnly;
        _snapshots = new SnapshotTable(new SnapshotHost(this), new MetadataTracker(this));
        _bitmapDirectory = new BitmapDirectory(new BitmapDirectoryHost(this));
    }

    /// <summary>The header as last read or written (do not modify).</summary>
    public Header Header => _header;

    /// <summary>Cluster size in bytes.</summary>
    public int ClusterSize => _clusterSize;

    /// <summary>qcow2_get_info: the cluster size, and VM state after the guest disk rounded up to what one L2 table maps.</summary>
    public override NodeInfo? Info
    {
        get
        {
            long l1Coverage = (long)_clusterSize * (_clusterSize / (ExtendedL2 ? 16 : 8));
            return new NodeInfo(_clusterSize, (Size + l1Coverage - 1) / l1Coverage * l1Coverage);
        }
    }

    /// <summary>Refcount width in bits.</summary>
    public int RefcountBits => 1 << _refcounts.Order;

    /// <summary>Whether the corrupt bit is set.</summary>
    public bool Corrupt => (_header.IncompatibleFeatures & Features.IncompatCorrupt) != 0;

    /// <summary>Whether the dirty bit is set.</summary>
    public bool Dirty => (_header.IncompatibleFeatures & Features.IncompatDirty) != 0;

    /// <summary>Whether lazy refcounts are on.</summary>
    public bool LazyRefcounts => (_header.CompatibleFeatures & Features.CompatLazyRefcounts) != 0;

    /// <summary>Whether writes defer refcount updates (s->use_lazy_refcounts): the lazy-refcounts option, else the image's bit.</summary>
    internal bool UseLazyRefcounts => _runtimeOptions?.LazyRefcounts ?? LazyRefcounts;

    /// <summary>Whether L2 entries are extended.</summary>
    public bool ExtendedL2 => (_header.IncompatibleFeatures & Features.IncompatExtendedL2) != 0;

    /// <summary>"zlib" or "zstd".</summary>
    public string CompressionTypeName => _header.CompressionType == 1 ? "zstd" : "zlib";

    /// <summary>"1.1" for version 3, "0.10" for version 2.</summary>
    public string Compat => _header.Version >= 3 ? "1.1" : "0.10";

    /// <summary>Backing file name as stored in the image, or null.</summary>
    public string? BackingFileName { get; private set; }

    /// <summary>Backing format from the header extension, or null.</summary>
    public string? BackingFormat { get; private set; }

    /// <summary>The opened backing image, or null.</summary>
    public BlockDevice? Backing { get; private set; }

    /// <summary>The internal snapshots in table order.</summary>
    public IReadOnlyList<SnapshotInfo> Snapshots => _snapshots.Select(s => s.ToInfo()).ToList();

    /// <summary>The overlap checks in force (QEMU's s->overlap_check).</summary>
    public OverlapTypes OverlapChecks => _overlapCheck;

    /// <inheritdoc/>
    public override IBlkdebugControl? Blkdebug => _file as IBlkdebugControl;

    /// <summary>The node this image is stored in when that is another node (a qcow2 whose file is a qcow2), else null.</summary>
    public BlockDevice? FileChild => (_file as DeviceStorage)?.Node;

    /// <inheritdoc/>
    public override string FormatName => "qcow2";

    /// <inheritdoc/>
    public override long Size => (long)_header.Size;

    /// <inheritdoc/>
    public override bool ReadOnly => _readOnly;

    /// <inheritdoc/>
    public override long ActualSize => _file.AllocatedSize;

    /// <summary>Length of the image file in bytes.</summary>
    internal long FileLength => _file.Length;

    private long OffsetIntoCluster(long offset) => offset & (_clusterSize - 1);

    private long StartOfCluster(long offset) => offset & ~(long)(_clusterSize - 1);

    private long SizeToClusters(long size) => (size + _clusterSize - 1) >> _clusterBits;

    private long SizeToL1(long size)
    {
        int shift = _clusterBits + _l2Bits;
        return (size + (1L << shift) - 1) >> shift;
    }

    private void CheckUsable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_unusable)
        {
            throw new BlockIOException(Errno.ENOMEDIUM);
        }
    }

    private void CheckWritable()
    {
        CheckUsable();
        if (_readOnly)
        {
            throw new BlockIOException(Errno.EPERM);
        }
    }

    private byte[] ReadFile(long offset, int length)
    {
        var b = new byte[length];
        _file.Read(offset, b);
        return b;
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        try
        {
            if (!_readOnly && !_unusable)
            {
                FlushBeforeClose();
                Close();
            }
        }
        catch (BlockIOException)
        {
            // QEMU ignores errors while closing; the corruption (if any) was already reported.
        }
        finally
        {
            _disposed = true;
            Backing?.Dispose();
            _dataFile?.Dispose();
            _file.Dispose();
        }
    }

    /// <summary>bdrv_close flushes the node (bdrv_flush) before the driver closes it, and ignores the result.</summary>
    private void FlushBeforeClose()
    {
        try
        {
            FlushCaches();
        }
        catch (BlockIOException)
        {
            // A table that failed stays dirty; qcow2_inactivate tries it again and reports the failure.
        }
    }

    private void Close()
    {
        // qcow2_inactivate: the bitmaps are stored first; when that fails they are lost and the image is not marked clean.
        // A corruption found on the way leaves the caches in place (QEMU's inactivation goes on to flush them).
        _inactivating = true;
        bool stored = true;
        try
        {
            StorePersistentDirtyBitmaps();
        }
        catch (Format.BitmapOperationException e)
        {
            stored = false;
            Report($"Lost persistent bitmaps during inactivation of node '{NodeName}': {e.Message}");
        }
        bool flushed = FlushOnClose(_l2Cache, "L2 table") & FlushOnClose(_refcounts.Cache, "refcount block");
        if (stored && flushed && Dirty && !_readOnly)
        {
            MarkClean();
        }
        _file.Flush();
    }

    /// <summary>Flushes one cache while closing; a failure is reported (error_report) as qcow2_inactivate does, not thrown.</summary>
    private bool FlushOnClose(MetadataCache cache, string what)
    {
        try
        {
            // qcow2_cache_flush: the tables, then the file.
            cache.Flush();
            return true;
        }
        catch (BlockIOException e)
        {
            Report($"Failed to flush the {what} cache: {e.Message}");
            return false;
        }
    }

    /// <summary>error_report: a line on the diagnostics stream, after the program-name prefix.</summary>
    private void Report(string line)
    {
        _options.Diagnostics.WriteLine(_options.ReportPrefix + line);
        _options.Diagnostics.Flush();
    }
}
