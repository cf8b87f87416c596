using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Opens a qcow2 image over storage, with QEMU's open-time checks in QEMU's order.</summary>
    public static Qcow2Image Open(IStorage storage, string fileName, OpenOptions options)
    {
        var img = new Qcow2Image(storage, options) { FileName = fileName };
        img.Load();
        return img;
    }

    private void Load()
    {
        var (h, cluster0) = ReadHeader();
        if (h.BackingFileOffset > (ulong)_clusterSize)
        {
            throw new ImageOpenException("Invalid backing file offset", Errno.EINVAL);
        }
        long extEnd = h.BackingFileOffset != 0 ? (long)h.BackingFileOffset : _clusterSize;
        ValidateCompressionType(h);

        CheckIncompatibleFeatures(h, cluster0, extEnd);
        if (h.RefcountOrder > 6)
        {
            throw new ImageOpenException("Reference count entry width too large; may not exceed 64 bits", Errno.EINVAL);
        }
        _refcounts = new Refcounts(new RefcountHost(this), _clusterBits, (int)h.RefcountOrder);
        if (h.CryptMethod > CryptLuks)
        {
            throw new ImageOpenException($"Unsupported encryption method {h.CryptMethod}", Errno.EINVAL);
        }
        _l2Bits = _clusterBits - (ExtendedL2 ? 4 : 3);
        _l2EntrySize = ExtendedL2 ? L2Entry.ExtendedSize : L2Entry.Size;
        _l2Size = 1 << _l2Bits;

        LoadTableLocations(h);

        ApplyOptions();

        LoadRefcountTable();
        CreateMetadataCaches();

        ReadExtensions(cluster0, extEnd);
        OpenDataFile();
        OpenEncryption();
        if (!_options.NoIo && (h.AutoclearFeatures & Features.AutoclearDataFileRaw) != 0 && (h.IncompatibleFeatures & Features.IncompatDataFile) == 0)
        {
            throw new ImageOpenException("data-file-raw requires a data file", Errno.EINVAL);
        }

        ReadBackingFileName(h, cluster0);

        ReadSnapshotTable();

        bool updateHeader = ((h.AutoclearFeatures & ~Features.AutoclearMask) != 0 || _dropStaleBitmaps) && !_readOnly;
        if (updateHeader)
        {
            _header.AutoclearFeatures &= Features.AutoclearMask;
        }
        // qcow2_load_dirty_bitmaps: on a writable open it rewrites the header itself (marking the bitmaps in use).
        if (!LoadDirtyBitmaps() && updateHeader)
        {
            UpdateHeader();
        }

        CreateOverlapStructures();

        if (!_options.CheckMode && !_readOnly && Dirty)
        {
            RepairDirtyImage();
        }

        if (h.Size / 512 > long.MaxValue / 512)
        {
            // bdrv_open_driver: the sector count must fit in an int64 byte length.
            throw new ImageOpenException("Could not refresh total sector count: File too large", Errno.EFBIG);
        }

        if (BackingFileName is not null && !_options.NoBacking)
        {
            OpenBacking();
        }
        else if (_options.Options.TryGetValue("backing", out string? reference) && reference.Length == 0)
        {
            // bdrv_open_inherit warns of backing= whether or not there is a backing file to leave out.
            WarnEmptyBacking();
        }
    }

    /// <summary>Reads and checks the header (magic, version, cluster size, header length) and keeps it; returns it with cluster 0.</summary>
    private (Header H, byte[] Cluster0) ReadHeader()
    {
        var first = ReadFile(0, Header.V3Length);
        if (Header.ReadMagic(first) != Header.Magic)
        {
            throw new ImageOpenException("Image is not in qcow2 format", Errno.EINVAL);
        }
        var h = Header.Parse(first);
        if (h.Version < 2 || h.Version > 3)
        {
            throw new ImageOpenException($"Unsupported qcow2 version {h.Version}", Errno.ENOTSUP);
        }
        if (h.ClusterBits < MinClusterBits || h.ClusterBits > MaxClusterBits)
        {
            throw new ImageOpenException($"Unsupported cluster size: 2^{h.ClusterBits}", Errno.EINVAL);
        }
        _clusterBits = (int)h.ClusterBits;
        _clusterSize = 1 << _clusterBits;
        if (h.Version == 2)
        {
            h.IncompatibleFeatures = h.CompatibleFeatures = h.AutoclearFeatures = 0;
            h.RefcountOrder = 4;
            h.HeaderLength = Header.V2Length;
        }
        else if (h.HeaderLength < Header.V3MinLength)
        {
            throw new ImageOpenException("qcow2 header too short", Errno.EINVAL);
        }
        if (h.HeaderLength > _clusterSize)
        {
            throw new ImageOpenException("qcow2 header exceeds cluster size", Errno.EINVAL);
        }
        var cluster0 = ReadFile(0, _clusterSize);
        h = Header.Parse(cluster0);
        if (h.Version == 2)
        {
            h.RefcountOrder = 4;
            h.HeaderLength = Header.V2Length;
        }
        _header = h;
        return (h, cluster0);
    }

    /// <summary>Refuses unknown incompatible features, a corrupt image opened read/write, and the features this engine lacks.</summary>
    private void CheckIncompatibleFeatures(Header h, byte[] cluster0, long extEnd)
    {
        ulong unknownIncompat = h.IncompatibleFeatures & ~Features.IncompatMask;
        if (unknownIncompat != 0)
        {
            throw UnsupportedFeatureError(cluster0, extEnd, unknownIncompat);
        }
        if (Corrupt && !_readOnly && !_options.CheckMode)
        {
            throw new ImageOpenException("qcow2: Image is corrupt; cannot be opened read/write", Errno.EACCES);
        }
    }

    /// <summary>Checks where the refcount table, the snapshot table and the active L1 table lie, and reads the L1 table.</summary>
    private void LoadTableLocations(Header h)
    {
        _refcounts.Locate((long)h.RefcountTableOffset, (long)h.RefcountTableClusters << (_clusterBits - 3));
        if (h.RefcountTableClusters == 0 && !_options.CheckMode)
        {
            throw new ImageOpenException("Image does not contain a reference count table", Errno.EINVAL);
        }
        ValidateTable(h.RefcountTableOffset, h.RefcountTableClusters, _clusterSize, MaxRefcountTableBytes, "Reference count table");
        if (!_options.CheckMode)
        {
            // qemu-img check reports a bad snapshot table itself instead of refusing to open the image.
            ValidateTable(h.SnapshotsOffset, h.NbSnapshots, SnapshotEntry.FixedSize, SnapshotEntry.FixedSize * (long)MaxSnapshots, "Snapshot table");
        }
        ValidateTable(h.L1TableOffset, h.L1Size, L1Entry.Size, MaxL1SizeBytes, "Active L1 table");
        _l1Size = (int)h.L1Size;
        _l1TableOffset = (long)h.L1TableOffset;
        long l1VmStateIndex = SizeToL1Unchecked(h.Size);
        if (l1VmStateIndex > int.MaxValue)
        {
            throw new ImageOpenException("Image is too big", Errno.EFBIG);
        }
        if (_l1Size < l1VmStateIndex)
        {
            throw new ImageOpenException("L1 table is too small", Errno.EINVAL);
        }
        _l1Table = ReadOpenTable(_l1TableOffset, _l1Size, "Could not read L1 table");
    }

    /// <summary>qcow2_refcount_init: reads the refcount table.</summary>
    private void LoadRefcountTable()
    {
        try
        {
            // qcow2_refcount_init
            _file.DebugEvent("reftable_load");
            _refcounts.Load(ReadTable(_refcounts.TableOffset, (int)_refcounts.TableSize));
        }
        catch (BlockIOException e)
        {
            throw new ImageOpenException($"Could not initialize refcount handling: {e.Message}", e.Errno);
        }
    }

    /// <summary>The backing file name the header points to in cluster 0.</summary>
    private void ReadBackingFileName(Header h, byte[] cluster0)
    {
        if (h.BackingFileOffset != 0)
        {
            long len = h.BackingFileSize;
            if (len > Math.Min(MaxBackingFileNameLength, _clusterSize - (long)h.BackingFileOffset))
            {
                throw new ImageOpenException("Backing file name too long", Errno.EINVAL);
            }
            // A C string in QEMU: a NUL ends it, and an empty name means no backing file.
            var name = cluster0.AsSpan((int)h.BackingFileOffset, (int)len);
            int nul = name.IndexOf((byte)0);
            string backing = Encoding.UTF8.GetString(nul >= 0 ? name[..nul] : name);
            BackingFileName = backing.Length > 0 ? backing : null;
        }
    }

    /// <summary>Reads the snapshot table, which check mode leaves to the check.</summary>
    private void ReadSnapshotTable()
    {
        if (!_options.CheckMode)
        {
            _snapshots.Read((long)_header.SnapshotsOffset, (int)_header.NbSnapshots, (ulong)DiskSizeBytes);
        }
        else
        {
            // Check mode skips the snapshot table, so the header QEMU writes back before the check reads it (bitmaps
            // marked in use, autoclear bits dropped) counts no snapshots (s->nb_snapshots stays 0): the check then
            // reads the table the header names, and a hostile count there cannot make the repair destroy the image.
            _header.NbSnapshots = 0;
            _header.SnapshotsOffset = 0;
        }
    }

    private long SizeToL1Unchecked(ulong size)
    {
        // QEMU's size_to_l1 rounds up in 64-bit arithmetic, which wraps for sizes near 2^64.
        int shift = _clusterBits + _l2Bits;
        return unchecked((long)((size + (1UL << shift) - 1) >> shift));
    }

    private void ValidateTable(ulong offset, ulong entries, long entryLength, long maxBytes, string name)
    {
        if (entries > (ulong)(maxBytes / entryLength))
        {
            throw new ImageOpenException($"{name} too large", Errno.EFBIG);
        }
        if ((ulong)long.MaxValue - entries * (ulong)entryLength < offset || (offset & (ulong)(_clusterSize - 1)) != 0)
        {
            throw new ImageOpenException($"{name} offset invalid", Errno.EINVAL);
        }
    }

    /// <summary>Reads a table at open; a failed read (a table past the block layer's limit) refuses the image with QEMU's text.</summary>
    private ulong[] ReadOpenTable(long offset, int entries, string what)
    {
        try
        {
            return ReadTable(offset, entries);
        }
        catch (BlockIOException e)
        {
            throw new ImageOpenException($"{what}: {e.Message}", e.Errno);
        }
    }

    /// <summary>A table of big-endian entries, read straight into the array that holds it (no second buffer of its size).</summary>
    private ulong[] ReadTable(long offset, int entries)
    {
        _ = checked(entries * 8); // a table of 2 GiB or more throws before anything is allocated
        var t = new ulong[entries];
        _file.Read(offset, MemoryMarshal.AsBytes(t.AsSpan()));
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(t, t);
        }
        return t;
    }

    /// <summary>Set when a bitmaps extension without the autoclear bit was ignored: QEMU rewrites the header without it.</summary>
    private bool _dropStaleBitmaps;

    private void ReadExtensions(byte[] cluster0, long extEnd)
    {
        List<HeaderExtension> exts;
        try
        {
            exts = HeaderExtension.ParseAll(cluster0, _header.ExtensionsStart, extEnd);
        }
        catch (CorruptImageException e)
        {
            throw new ImageOpenException(e.Message, Errno.EINVAL);
        }
        foreach (var e in exts)
        {
            switch (e.Type)
            {
                case HeaderExtension.BackingFormat:
                    if (e.Data.Length >= 16)
                    {
                        throw new ImageOpenException($"ERROR: ext_backing_format: len={e.Data.Length} too large (>=16)", Errno.EINVAL);
                    }
                    BackingFormat = Encoding.UTF8.GetString(e.Data);
                    break;
                case HeaderExtension.CryptoHeader:
                    ReadCryptoExtension(e);
                    break;
                case HeaderExtension.DataFile:
                    ReadDataFileExtension(e.Data);
                    break;
                case HeaderExtension.FeatureTable:
                    // Names only; the header writer emits its own table, so this one is not kept as unknown.
                    break;
                case HeaderExtension.Bitmaps:
                    if (ReadBitmapsExtension(e.Data))
                    {
                        _unknownExtensions.Add(e);
                    }
                    else
                    {
                        _dropStaleBitmaps = true;
                    }
                    break;
                default:
                    _unknownExtensions.Add(e);
                    break;
            }
        }
    }

    /// <summary>How deep a backing chain may be before opening refuses it.</summary>
    public const int MaxBackingChainDepth = 256;

    private void OpenBacking()
    {
        if (BackingDisabledByOption())
        {
            return;
        }
        string self = Path.GetFullPath(FileName, _options.BaseDirectory);
        var chain = _options.ChainAbove.Append(self).ToList();
        string dir = Path.GetDirectoryName(self) ?? _options.BaseDirectory;
        string backingPath = Path.GetFullPath(BackingFileName!, dir);
        if (chain.Contains(backingPath, StringComparer.Ordinal) || chain.Count >= MaxBackingChainDepth)
        {
            // QEMU hangs or fails on a lock here; we name the problem instead.
            throw new ImageOpenException($"Backing file '{BackingFileName}' creates an infinite loop.", Errno.EINVAL);
        }
        var opts = new OpenOptions
        {
            ChainAbove = chain,
            Format = BackingFormat,
            ReadOnly = true,
            Diagnostics = _options.Diagnostics,
            Messages = _options.Messages,
            Events = _options.Events,
            BaseDirectory = dir,
            ForceShare = _options.ForceShare || (_options.Options.TryGetValue("force-share", out var fs) && fs == "on"),
            LockParent = ImagePermissions.ForBacking(_options.LockParent ?? ImagePermissions.ForTool(_options)),
            LockName = QemuBackingName(_options.LockName ?? FileName, BackingFileName!),
        };
        try
        {
            Backing = ImageOpener.Open(ApplyBackingOptions(opts, BackingFileName!), opts);
        }
        catch (ImageOpenException e)
        {
            throw new ImageOpenException($"Could not open backing file: {e.Message}", e.Errno);
        }
    }

    /// <summary>The name QEMU gives a backing file (path_combine of the image's name and the stored backing name).</summary>
    public static string QemuBackingName(string imageName, string backing)
    {
        // bdrv_get_full_backing_filename_from_filename: an absolute name, or one with a protocol prefix (a ':' before any
        // '/', as in json:{...} or file:x), stays as it is.
        int mark = backing.IndexOfAny([':', '/']);
        if (mark == 0 || (mark > 0 && backing[mark] == ':'))
        {
            return backing;
        }
        int slash = imageName.LastIndexOf('/');
        return slash < 0 ? backing : imageName[..(slash + 1)] + backing;
    }
}
