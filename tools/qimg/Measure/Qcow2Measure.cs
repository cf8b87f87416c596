using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qcow2_measure: reads the creation options in qemu's order and sizes the image from them and from the source's allocation.</summary>
public static class Qcow2Measure
{
    /// <summary>The sizes a qcow2 image created with opts (holding the size) would need to hold source (or nothing).</summary>
    public static MeasureResult Measure(ToolContext ctx, QemuOpts opts, BlockDevice? source)
    {
        bool extendedL2 = opts.Get("extended_l2")?.Flag ?? false;
        long clusterSize = ClusterSize(opts, extendedL2);
        int version = Version(opts);
        int refcountOrder = RefcountOrder(opts, version);
        string? prealloc = opts.GetString("preallocation");
        if (prealloc is not null && prealloc is not ("off" or "metadata" or "falloc" or "full"))
        {
            throw new QimgException($"invalid parameter value: {prealloc}");
        }
        bool hasBackingFile = opts.GetString("backing_file") is not null;
        if (opts.GetString("encrypt.format") == "luks")
        {
            throw new QimgException("Option 'encrypt.format' is not supported by qimg");
        }

        long virtualSize = Qcow2MeasureMath.RoundUp((long)opts.Get("size")!.Number, clusterSize);
        long l2EntrySize = extendedL2 ? 16 : 8;
        long l2Tables = Qcow2MeasureMath.DivRoundUp(virtualSize / clusterSize, clusterSize / l2EntrySize);
        // qcow2_measure checks the limit against the size option, which is 0 when an input image is measured.
        if (source is null && l2Tables > Qcow2CreateValidator.MaxL1Entries)
        {
            throw new QimgException("The image size is too large (try using a larger cluster size)");
        }

        long required = 0;
        if (source is not null)
        {
            long sourceSize = ChainStatus.QemuLength(source);
            virtualSize = Qcow2MeasureMath.RoundUp(sourceSize, clusterSize);
            // With a backing file nobody knows what the new image shares with it: count every cluster.
            required = hasBackingFile ? virtualSize : AllocatedBytes(ctx, source, sourceSize, clusterSize);
        }
        if (prealloc is "full" or "falloc")
        {
            required = virtualSize;
        }

        long fullyAllocated = Qcow2MeasureMath.FullyAllocatedSize(virtualSize, clusterSize, refcountOrder, extendedL2);
        long? bitmaps = null;
        if (version >= 3 && source is Qcow2Image { Header.Version: >= 3 } q)
        {
            bitmaps = Qcow2MeasureMath.BitmapsSize(q.LoadedBitmaps, q.Size, clusterSize);
        }
        // Metadata is counted as for a fully allocated image; only the data clusters not needed are left out.
        return new MeasureResult(fullyAllocated - virtualSize + required, fullyAllocated, bitmaps);
    }

    /// <summary>The source's data, in whole clusters of the new image, skipping what reads as zeros.</summary>
    private static long AllocatedBytes(ToolContext ctx, BlockDevice source, long sourceSize, long clusterSize)
    {
        using var status = new QemuBlockStatus(ctx);
        long required = 0;
        long pnum;
        for (long offset = 0; offset < sourceSize; offset += pnum)
        {
            (int flags, pnum) = status.Above(source, offset, sourceSize - offset);
            if (pnum <= 0)
            {
                break;
            }
            const int dataAllocated = QemuBlockStatus.Data | QemuBlockStatus.Allocated;
            if ((flags & QemuBlockStatus.Zero) == 0 && (flags & dataAllocated) == dataAllocated)
            {
                // Extend to the end of the cluster, so the next extent starts in a cluster not yet counted.
                pnum = Qcow2MeasureMath.RoundUp(offset + pnum, clusterSize) - offset;
                required += offset % clusterSize + pnum;
            }
        }
        return required;
    }

    /// <summary>qcow2_opt_get_cluster_size_del.</summary>
    private static long ClusterSize(QemuOpts opts, bool extendedL2)
    {
        ulong size = opts.Get("cluster_size")?.Number ?? 65536;
        // qemu looks at the trailing zeros of the low 32 bits only.
        uint low = (uint)size;
        int bits = low == 0 ? 32 : System.Numerics.BitOperations.TrailingZeroCount(low);
        if (bits < 9 || bits > 21 || (1UL << bits) != size)
        {
            throw new QimgException($"Cluster size must be a power of two between {Qcow2CreateValidator.MinClusterSize} and {Qcow2CreateValidator.MaxClusterSize / 1024}k");
        }
        if (extendedL2 && size < Qcow2CreateValidator.MinClusterSizeExtendedL2)
        {
            throw new QimgException($"Extended L2 entries are only supported with cluster sizes of at least {Qcow2CreateValidator.MinClusterSizeExtendedL2} bytes");
        }
        return (long)size;
    }

    /// <summary>qcow2_opt_get_version_del: only "0.10" and "1.1" are accepted here.</summary>
    private static int Version(QemuOpts opts) => opts.GetString("compat") switch
    {
        null or "1.1" => 3,
        "0.10" => 2,
        string other => throw new QimgException($"Invalid compatibility level: '{other}'"),
    };

    /// <summary>qcow2_opt_get_refcount_bits_del; returns the refcount order.</summary>
    private static int RefcountOrder(QemuOpts opts, int version)
    {
        ulong bits = opts.Get("refcount_bits")?.Number ?? 16;
        if (bits > 64 || !ulong.IsPow2(bits))
        {
            throw new QimgException("Refcount width must be a power of two and may not exceed 64 bits");
        }
        if (version < 3 && bits != 16)
        {
            throw new QimgException("Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
        }
        return System.Numerics.BitOperations.TrailingZeroCount(bits);
    }
}
