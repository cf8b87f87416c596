using Qcow2.Block;
using Qcow2.Cli;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// The body of img_convert after option parsing: opens the sources, loads a snapshot, builds and creates the target,
/// opens it, checks what the target must support, and runs the copy. Failures are thrown as QimgException.
/// </summary>
public sealed class ConvertJob(
    ToolContext ctx, ConvertRequest r, IReadOnlyList<string> sourceNames, string outFilename, ConvertProgress progress,
    List<ConvertSource> sources)
{
    /// <summary>Runs the conversion; returns whether qemu-img would end with status 0 (the target, if opened, is returned for disposal).</summary>
    public bool Run(out BlockDevice? target)
    {
        target = null;
        OpenSources();
        LoadSnapshot();
        long totalSectors = sources.Sum(s => s.Sectors);
        QemuOpts? opts = null;
        if (!r.SkipCreate)
        {
            opts = ConvertTarget.BuildOptions(ctx, r.OutFormat!, r.Options, totalSectors * ConvertSectors.SectorSize, r.BackingFile, r.BackingFormat);
        }
        string? optBacking = opts?.GetString("backing_file");
        string? outBacking = optBacking ?? r.BackingFile;
        bool targetHasBacking = outBacking is not null;
        if (r.TargetIsZero && targetHasBacking)
        {
            // qemu-img reports this but leaves its status at 0 (the jump keeps the last successful return value).
            ctx.Err.Write($"{QimgTool.Name}: Cannot use --target-is-zero when the destination image has a backing file\n");
            return true;
        }
        CheckTargetRequest(opts, optBacking, outBacking);
        // The image locks refuse a target that a source holds; where the host has none, the files are compared instead.
        bool locked = !ImageLock.HostSupported && !r.ForceShare && !(r.SkipCreate && r.TargetImageOpts) && IsSourceFile(outFilename);
        if (!r.SkipCreate)
        {
            if (locked)
            {
                throw new QimgException($"{outFilename}: error while converting {r.OutFormat}: {LockMessage}", LockHint(outFilename));
            }
            ConvertTarget.Create(ctx, outFilename, r.OutFormat!, opts!);
        }
        bool writeThrough = ConvertCommand.ParseCacheMode(r.Cache) ?? throw new QimgException($"Invalid cache option: {r.Cache}");
        if (locked)
        {
            throw new QimgException($"Could not open '{outFilename}': {LockMessage}", LockHint(outFilename));
        }
        target = ConvertTarget.Open(ctx, outFilename, r.OutFormat, r.SkipCreate && r.TargetImageOpts, writeThrough,
            noFlush: r.Cache == "unsafe", opts, out string targetFile);
        CheckTargetSupports(target);
        Copy(target, totalSectors, targetHasBacking);
        if (r.Compressed && target is Qcow2Image { HasDataFile: true })
        {
            // img_convert's closing zero-length compressed write fails (ENOTSUP with a data file), and qemu-img
            // fails without a message.
            return false;
        }
        if (r.Compressed)
        {
            target.Flush();
            ConvertTarget.AlignCompressedEnd(ctx, targetFile);
        }
        if (r.Bitmaps)
        {
            CopyBitmaps((Qcow2Image)sources[0].Device, (Qcow2Image)target);
        }
        return true;
    }

    /// <summary>Refuses a backing file with several sources or without a format, and checks compression and bitmaps.</summary>
    private void CheckTargetRequest(QemuOpts? opts, string? optBacking, string? outBacking)
    {
        if (sources.Count > 1 && outBacking is not null)
        {
            throw new QimgException("Having a backing file for the target makes no sense when concatenating multiple input images");
        }
        if (optBacking is not null && opts!.GetString("backing_fmt") is null)
        {
            throw new QimgException("Use of backing file requires explicit backing format");
        }
        if (r.Compressed)
        {
            CheckCompression(opts);
        }
        if (r.Bitmaps)
        {
            CheckSourceBitmaps();
        }
    }

    /// <summary>Refuses bitmaps on a target that is not qcow2 v3, and compression on one that is not qcow2.</summary>
    private void CheckTargetSupports(BlockDevice target)
    {
        if (r.Bitmaps && target is not Qcow2Image { Header.Version: >= 3 })
        {
            throw new QimgException($"Format driver '{target.FormatName}' does not support bitmaps");
        }
        if (r.Compressed && target is not Qcow2Image)
        {
            throw new QimgException("Compression not supported for this file format");
        }
    }

    /// <summary>Copies the sources into the opened target with the copier qemu-img's convert_do_copy sets up.</summary>
    private void Copy(BlockDevice target, long totalSectors, bool targetHasBacking)
    {
        int minSparse = r.MinSparse;
        int clusterSectors = target is Qcow2Image tq ? tq.ClusterSize / ConvertSectors.SectorSize : 0;
        // The buffer grows to the target's discard alignment (the qcow2 cluster size) when that is larger than 2 MiB.
        int bufSectors = Math.Min(ConvertCopier.MaxBufSectors, Math.Max(ConvertCopier.DefaultBufSectors, clusterSectors));
        int alignment = Math.Max(PowerOfTwoFloor(minSparse), 1);
        if (r.SkipCreate && target.Size / ConvertSectors.SectorSize < totalSectors)
        {
            throw new QimgException("output file is smaller than input file");
        }
        long targetBackingSectors = -1;
        if (targetHasBacking && !r.SkipCreate && target is Qcow2Image { Backing: BlockDevice tb })
        {
            targetBackingSectors = ChainStatus.QemuLength(tb) / ConvertSectors.SectorSize;
        }
        var copier = new ConvertCopier(sources, target, progress)
        {
            Compressed = r.Compressed,
            Coroutines = r.Coroutines,
            TargetHasBacking = targetHasBacking,
            TargetBackingSectors = targetBackingSectors,
            MinSparse = minSparse,
            Alignment = alignment,
            ClusterSectors = clusterSectors,
            BufSectors = bufSectors,
            Salvage = r.Salvage,
            CopyRange = r.CopyRange,
            Quiet = r.Quiet,
            Err = ctx.Err,
            // A new raw or qcow2 target reads as zeros; -S 0 and a backing file turn the shortcut off. A new luks
            // target does not (its payload decrypts to noise; block/crypto.c has no bdrv_has_zero_init).
            HasZeroInit = r.TargetIsZero || (!r.SkipCreate && minSparse != 0 && !targetHasBacking && target is not LuksDevice),
        };
        copier.Run();
    }

    /// <summary>What QEMU's image locking reports when the target is one of the files being read.</summary>
    private const string LockMessage = "Failed to get \"write\" lock";

    private static string LockHint(string file) => $"Is another process using the image [{file}]?\n";

    /// <summary>
    /// Whether the target is a file of some source's chain: QEMU's file locks refuse to write an image that is open for
    /// reading (on a host without OFD locks qimg cannot lock, so it compares the files, symbolic links resolved).
    /// </summary>
    private bool IsSourceFile(string filename)
    {
        string target = RealPath(ctx.Resolve(filename));
        foreach (ConvertSource src in sources)
        {
            string name = src.Name;
            for (BlockDevice? dev = src.Device; dev is not null;)
            {
                if (!r.ImageOpts && RealPath(ctx.Resolve(name)) == target)
                {
                    return true;
                }
                if (dev is not Qcow2Image { Backing: BlockDevice backing } q)
                {
                    break;
                }
                name = ImageArgs.CombineBackingPath(name, q.BackingFileName ?? backing.FileName);
                dev = backing;
            }
        }
        return false;
    }

    private static string RealPath(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }

    private static int PowerOfTwoFloor(int v)
    {
        if (v <= 0)
        {
            return 0;
        }
        int p = 1;
        while (p <= v / 2)
        {
            p <<= 1;
        }
        return p;
    }

    /// <summary>img_open for every source, read-only, with its size and alignment.</summary>
    private void OpenSources()
    {
        foreach (string name in sourceNames)
        {
            if (r.ImageOpts && r.Format is not null)
            {
                throw new QimgException("--image-opts and --format are mutually exclusive");
            }
            BlockDevice dev = ImageArgs.Open(ctx, name, r.Format, r.ImageOpts, noBacking: false, r.ForceShare, noShare: true);
            sources.Add(new ConvertSource(ctx, dev, name));
        }
    }

    /// <summary>bdrv_snapshot_load_tmp (or its by-id-or-name form) on the first source.</summary>
    private void LoadSnapshot()
    {
        string? id = null, name = null, idOrName = null;
        if (r.SnapshotOpts is { } snapshotOpts)
        {
            (id, name) = snapshotOpts;
        }
        else if (r.SnapshotName is not null)
        {
            if (sources.Count > 1)
            {
                throw new QimgException("No support for concatenating multiple snapshot");
            }
            idOrName = r.SnapshotName;
        }
        else
        {
            return;
        }
        BlockDevice dev = sources[0].Device;
        try
        {
            if (dev is not Qcow2Image q)
            {
                if (id is null && name is null && idOrName is null)
                {
                    throw new SnapshotException("snapshot_id and name are both NULL", Errno.EINVAL);
                }
                throw new SnapshotException(
                    $"Block format '{dev.FormatName}' used by device '' does not support temporarily loading internal snapshots", Errno.ENOTSUP);
            }
            if (idOrName is not null)
            {
                q.LoadSnapshotTemporarily(idOrName);
            }
            else
            {
                q.LoadSnapshotTemporarily(id, name);
            }
        }
        catch (SnapshotException e)
        {
            throw new QimgException($"Failed to load snapshot: {e.Message}");
        }
    }

    /// <summary>The checks img_convert makes before creating a compressed target.</summary>
    private void CheckCompression(QemuOpts? opts)
    {
        if (!r.SkipCreate && r.OutFormat != "qcow2")
        {
            throw new QimgException("Compression not supported for this file format");
        }
        if (opts is null)
        {
            return;
        }
        if ((opts.Get("encryption")?.Flag ?? false) || opts.GetString("encrypt.format") is not null)
        {
            throw new QimgException("Compression and encryption not supported at the same time");
        }
        if (opts.GetString("preallocation") is string prealloc && prealloc != "off")
        {
            throw new QimgException("Compression and preallocation not supported at the same time");
        }
    }

    /// <summary>convert_check_bitmaps: the source must support persistent bitmaps, and inconsistent ones are refused unless skipped.</summary>
    private void CheckSourceBitmaps()
    {
        if (sources.Count > 1)
        {
            throw new QimgException("Copying bitmaps only possible with single source");
        }
        if (sources[0].Device is not Qcow2Image { Header.Version: >= 3 } q)
        {
            throw new QimgException("Source lacks bitmap support");
        }
        foreach (BitmapInfo b in q.GetBitmapInfo())
        {
            if (!r.SkipBrokenBitmaps && b.Flags.Contains("in-use"))
            {
                throw new QimgException($"Cannot copy inconsistent bitmap '{b.Name}'",
                    $"Try --skip-broken-bitmaps, or use '{QimgTool.Name} bitmap --remove' to delete it\n");
            }
        }
    }

    /// <summary>convert_copy_bitmaps: each persistent bitmap is added to the target (same granularity, enabled or not) and filled from the source.</summary>
    private void CopyBitmaps(Qcow2Image src, Qcow2Image dst)
    {
        // FOR_EACH_DIRTY_BITMAP walks the node's list, where each bitmap loaded from the directory went to the head.
        foreach (BitmapInfo b in src.GetBitmapInfo().Reverse())
        {
            if (r.SkipBrokenBitmaps && b.Flags.Contains("in-use"))
            {
                ctx.Err.Write($"{QimgTool.Name}: warning: Skipping inconsistent bitmap '{b.Name}'\n");
                continue;
            }
            try
            {
                dst.AddPersistentBitmap(b.Name, (uint)b.Granularity);
                if (!b.Flags.Contains("auto"))
                {
                    dst.SetBitmapEnabled(b.Name, false);
                }
            }
            catch (BitmapOperationException e)
            {
                throw new QimgException($"Failed to create bitmap {b.Name}: {e.Message}", e.Hint);
            }
            try
            {
                dst.MergeBitmap(b.Name, src, b.Name);
            }
            catch (BitmapOperationException e)
            {
                dst.RemoveBitmap(b.Name);
                throw new QimgException($"Failed to populate bitmap {b.Name}: {e.Message}", e.Hint);
            }
        }
    }
}
