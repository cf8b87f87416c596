using Qcow2.Options;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// Turns qemu-img create -o options into engine create options with qcow2_co_create_opts' and qcow2_co_create's
/// checks, in their order and with their messages, so that the engine only ever receives valid options.
/// </summary>
public static class Qcow2CreateValidator
{
    /// <summary>Smallest cluster size (the engine's <see cref="Format.Limits"/>).</summary>
    public const int MinClusterSize = Format.Limits.MinClusterSize;

    /// <summary>Largest cluster size.</summary>
    public const int MaxClusterSize = Format.Limits.MaxClusterSize;

    /// <summary>Smallest cluster size with extended L2 entries.</summary>
    public const int MinClusterSizeExtendedL2 = Format.Limits.MinClusterSizeExtendedL2;

    /// <summary>The most L1 entries an image may have.</summary>
    public const long MaxL1Entries = Format.Limits.MaxL1Entries;

    /// <summary>Block drivers qemu knows (the values the QAPI BlockdevDriver enum accepts for backing-fmt).</summary>
    private static readonly HashSet<string> BlockdevDrivers =
    [
        "blkdebug", "blklogwrites", "blkreplay", "blkverify", "bochs", "cloop", "compress", "copy-before-write",
        "copy-on-read", "dmg", "file", "snapshot-access", "ftp", "ftps", "gluster", "host_cdrom", "host_device",
        "http", "https", "io_uring", "iscsi", "luks", "nbd", "nfs", "null-aio", "null-co", "nvme", "nvme-io_uring",
        "parallels", "preallocate", "qcow", "qcow2", "qed", "quorum", "raw", "rbd", "replication", "ssh",
        "throttle", "vdi", "vhdx", "virtio-blk-vfio-pci", "virtio-blk-vhost-user", "virtio-blk-vhost-vdpa",
        "vmdk", "vpc", "vvfat",
    ];

    /// <summary>
    /// The QAPI visit of BlockdevCreateOptionsQcow2 (enum values, integers): errors qemu reports after creating the
    /// empty file but before any semantic check.
    /// </summary>
    public static void CheckTypes(QemuOpts opts)
    {
        // The visitor parses size and cluster-size again from their text, repeating any parser warning.
        if (opts.GetString("size") is string sizeText)
        {
            QemuNumbers.StrToSize(sizeText, out _, opts.Warn);
        }
        CheckEnum(opts, "compat", "version", v => v is ("0.10" or "1.1" or "v2" or "v3"));
        CheckEnum(opts, "backing_fmt", "backing-fmt", v => BlockdevDrivers.Contains(v));
        if (opts.GetString("cluster_size") is string clusterText)
        {
            QemuNumbers.StrToSize(clusterText, out _, opts.Warn);
        }
        CheckEnum(opts, "preallocation", "preallocation", v => v is ("off" or "metadata" or "falloc" or "full"));
        OptValue? refcountBits = opts.Get("refcount_bits");
        if (refcountBits is not null && !QemuNumbers.StrToI64(refcountBits.Text, out _))
        {
            throw new QimgException("Parameter 'refcount-bits' expects integer");
        }
        CheckEnum(opts, "compression_type", "compression-type", v => v is ("zlib" or "zstd"));
    }

    /// <summary>The QAPI visitor's check of an enum member: a given value must be one the enum has.</summary>
    private static void CheckEnum(QemuOpts opts, string key, string parameter, Func<string, bool> known)
    {
        if (opts.GetString(key) is string value && !known(value))
        {
            throw new QimgException($"Parameter '{parameter}' does not accept value '{value}'");
        }
    }

    /// <summary>qcow2_co_create's checks; returns the engine's options for an image of the given size.</summary>
    public static Qcow2CreateOptions Validate(QemuOpts opts, long size)
    {
        EncryptionOptions.Format(opts);
        string? compat = opts.GetString("compat");
        int version = compat is "0.10" or "v2" ? 2 : 3;
        ulong clusterSize = opts.Get("cluster_size")?.Number ?? 65536;
        bool extendedL2 = opts.Get("extended_l2")?.Flag ?? false;
        if (extendedL2 && version < 3)
        {
            throw new QimgException("Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)");
        }
        if (clusterSize < MinClusterSize || clusterSize > MaxClusterSize || !ulong.IsPow2(clusterSize))
        {
            throw new QimgException($"Cluster size must be a power of two between {MinClusterSize} and {MaxClusterSize / 1024}k");
        }
        if (extendedL2 && clusterSize < MinClusterSizeExtendedL2)
        {
            throw new QimgException($"Extended L2 entries are only supported with cluster sizes of at least {MinClusterSizeExtendedL2} bytes");
        }
        string prealloc = opts.GetString("preallocation") ?? "off";
        string? backingFile = opts.GetString("backing_file");
        if (backingFile is not null && prealloc != "off" && !extendedL2)
        {
            throw new QimgException("Backing file and preallocation can only be used at the same time if extended_l2 is on");
        }
        if (opts.Has("backing_fmt") && backingFile is null)
        {
            throw new QimgException("Backing format cannot be used without backing file");
        }
        bool lazy = opts.Get("lazy_refcounts")?.Flag ?? false;
        if (version < 3 && lazy)
        {
            throw new QimgException("Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)");
        }
        long refcountBits = ParseRefcountBits(opts);
        if (version < 3 && refcountBits != 16)
        {
            throw new QimgException("Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)");
        }
        bool dataFileRaw = opts.Get("data_file_raw")?.Flag ?? false;
        string? dataFile = opts.GetString("data_file");
        if (dataFile is not null && version < 3)
        {
            throw new QimgException("External data files are only supported with compatibility level 1.1 and above (use version=v3 or greater)");
        }
        if (dataFileRaw && dataFile is null)
        {
            throw new QimgException("data-file-raw requires data-file");
        }
        if (dataFileRaw && backingFile is not null)
        {
            throw new QimgException("Backing file and data-file-raw cannot be used at the same time");
        }
        string compression = opts.GetString("compression_type") ?? "zlib";
        if (compression != "zlib" && version < 3)
        {
            throw new QimgException("Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)");
        }

        long l2Entries = (long)clusterSize / (extendedL2 ? 16 : 8);
        long bytesPerL1Entry = (long)clusterSize * l2Entries;
        long l1Entries = size / bytesPerL1Entry + (size % bytesPerL1Entry != 0 ? 1 : 0);
        if (l1Entries > MaxL1Entries)
        {
            throw new QimgException("The image size is too large for file format 'qcow2' (try using a larger cluster size)");
        }
        var encryption = EncryptionOptions.Parse(opts);
        return new Qcow2CreateOptions
        {
            Encryption = encryption,
            Size = size,
            ClusterSize = (int)clusterSize,
            Version = version,
            RefcountBits = (int)refcountBits,
            LazyRefcounts = lazy,
            ExtendedL2 = extendedL2,
            BackingFile = backingFile,
            BackingFormat = opts.GetString("backing_fmt"),
            Preallocation = prealloc,
            CompressionType = compression == "zstd" ? (byte)1 : (byte)0,
            DataFile = dataFile,
            DataFileRaw = dataFileRaw,
        };
    }

    /// <summary>refcount_bits (16 by default); refuses a width that is no power of two up to 64.</summary>
    private static long ParseRefcountBits(QemuOpts opts)
    {
        long refcountBits = 16;
        if (opts.Get("refcount_bits") is OptValue rb)
        {
            QemuNumbers.StrToI64(rb.Text, out refcountBits);
        }
        if (refcountBits > 64 || refcountBits <= 0 || !long.IsPow2(refcountBits))
        {
            throw new QimgException("Refcount width must be a power of two and may not exceed 64 bits");
        }
        return refcountBits;
    }
}
