using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    private const string InconsistentHint = "Try block-dirty-bitmap-remove to delete this bitmap from disk\n";
    private static int _nodeCounter;
    private string? _autoNodeName;

    /// <summary>The name QEMU's messages give this node: the device or node name, else an automatic "#blockNNN".</summary>
    public string NodeName
    {
        get
        {
            if (_options.DeviceName.Length > 0)
            {
                return _options.DeviceName;
            }
            return _options.NodeName ?? (_autoNodeName ??= $"#block{Interlocked.Increment(ref _nodeCounter):D3}");
        }
    }

    /// <summary>bdrv_get_default_bitmap_granularity: the cluster size, clamped to 4 KiB .. 64 KiB.</summary>
    internal long DefaultBitmapGranularity => Math.Clamp(_clusterSize, 4096, 65536);

    /// <summary>qcow2_get_bitmap_info_list: the persistent bitmaps as the directory on disk describes them.</summary>
    public IReadOnlyList<BitmapInfo> GetBitmapInfo()
    {
        if (_bitmapDirectory.Count == 0)
        {
            return [];
        }
        return LoadBitmapDirectory().Select(b =>
        {
            var flags = new List<string>();
            if ((b.Flags & BitmapDirectoryEntry.FlagInUse) != 0)
            {
                flags.Add("in-use");
            }
            if ((b.Flags & BitmapDirectoryEntry.FlagAuto) != 0)
            {
                flags.Add("auto");
            }
            return new BitmapInfo(b.Name, 1L << b.GranularityBits, flags);
        }).ToList();
    }

    /// <summary>
    /// The loaded persistent bitmaps in QEMU's FOR_EACH_DIRTY_BITMAP order (the most recently created first); flags say
    /// "in-use" for an inconsistent bitmap and "auto" for an enabled one (what convert --bitmaps copies).
    /// </summary>
    public IReadOnlyList<BitmapInfo> LoadedBitmaps => _dirtyBitmaps.Where(b => b.Persistent).Select(b => new BitmapInfo(
        b.Name, b.Granularity, (b.Inconsistent ? new[] { "in-use" } : []).Concat(b.Enabled ? new[] { "auto" } : []).ToList())).ToList();

    /// <summary>block-dirty-bitmap-add with persistent=true: a new enabled bitmap, stored at close.</summary>
    /// <param name="name">the bitmap's name</param>
    /// <param name="granularity">bytes per bit, or null for the default</param>
    public void AddPersistentBitmap(string name, uint? granularity)
    {
        CheckUsable();
        if (name.Length == 0)
        {
            throw new BitmapOperationException("Bitmap name cannot be empty");
        }
        uint g;
        if (granularity is uint requested)
        {
            if (requested < 512 || (requested & (requested - 1)) != 0)
            {
                throw new BitmapOperationException("Granularity must be power of 2 and at least 512");
            }
            g = requested;
        }
        else
        {
            g = (uint)DefaultBitmapGranularity;
        }
        if (FindDirtyBitmap(name) is not null)
        {
            // The block layer finds the name taken before asking the driver, so the message has no prefix.
            throw new BitmapOperationException($"Bitmap already exists: {name}");
        }
        string? error = CanStoreNewBitmap(name, g);
        if (error is not null)
        {
            throw new BitmapOperationException($"Can't make bitmap '{name}' persistent in '{NodeName}': {error}");
        }
        var bitmap = new DirtyBitmap(name, System.Numerics.BitOperations.TrailingZeroCount(g), BitmapDiskLength) { Persistent = true };
        _dirtyBitmaps.Insert(0, bitmap);
    }

    /// <summary>qcow2_co_can_store_new_dirty_bitmap: null when the bitmap may be added, else QEMU's reason.</summary>
    private string? CanStoreNewBitmap(string name, uint granularity)
    {
        if (_header.Version < 3)
        {
            return "Cannot store dirty bitmaps in qcow2 v2 files";
        }
        string? error = CheckBitmapConstraints(name, granularity);
        if (error is not null)
        {
            return error;
        }
        long count = 1;
        long dirSize = BitmapDirectoryEntry.EntrySize(System.Text.Encoding.UTF8.GetByteCount(name), 0);
        foreach (var b in _dirtyBitmaps.Where(b => b.Persistent))
        {
            count++;
            dirSize += BitmapDirectoryEntry.EntrySize(System.Text.Encoding.UTF8.GetByteCount(b.Name), 0);
        }
        if (count > MaxBitmaps)
        {
            return "Maximum number of persistent bitmaps is already reached";
        }
        return (ulong)dirSize > MaxBitmapDirectorySize ? "Not enough space in the bitmap directory" : null;
    }

    /// <summary>block-dirty-bitmap-remove: drops the bitmap, and from the image at once (a new directory) when persistent.</summary>
    public void RemoveBitmap(string name)
    {
        CheckUsable();
        var bitmap = Lookup(name);
        if (bitmap.ReadOnly)
        {
            throw new BitmapOperationException($"Bitmap '{name}' is readonly and cannot be modified");
        }
        if (bitmap.Persistent && _bitmapDirectory.Count > 0)
        {
            var list = LoadBitmapDirectory();
            var bm = list.FirstOrDefault(e => e.Name == name);
            if (bm is not null)
            {
                list.Remove(bm);
                try
                {
                    UpdateExtHeaderAndDir(list);
                }
                catch (BlockIOException e)
                {
                    throw new BitmapOperationException($"Failed to update bitmap extension: {e.Message}");
                }
                FreeBitmapClusters(bm.TableOffset, bm.TableSize);
            }
        }
        _dirtyBitmaps.Remove(bitmap);
    }

    /// <summary>block-dirty-bitmap-clear.</summary>
    public void ClearBitmap(string name)
    {
        CheckUsable();
        var bitmap = Lookup(name);
        CheckBitmapUsable(bitmap, allowReadOnly: false);
        bitmap.Clear();
    }

    /// <summary>block-dirty-bitmap-enable (enabled: true) or block-dirty-bitmap-disable (enabled: false).</summary>
    public void SetBitmapEnabled(string name, bool enabled)
    {
        CheckUsable();
        var bitmap = Lookup(name);
        CheckBitmapUsable(bitmap, allowReadOnly: true);
        bitmap.Enabled = enabled;
    }

    /// <summary>block-dirty-bitmap-merge of one bitmap (of this image or of source) into target.</summary>
    public void MergeBitmap(string target, Qcow2Image? source, string sourceName)
    {
        CheckUsable();
        var dst = Lookup(target);
        CheckBitmapUsable(dst, allowReadOnly: false);
        var anon = new DirtyBitmap("", dst.GranularityBits, dst.DiskSize);
        var src = (source ?? this).Lookup(sourceName);
        CheckBitmapUsable(src, allowReadOnly: true);
        if (src.DiskSize != anon.DiskSize)
        {
            throw new BitmapOperationException(
                $"Bitmaps are of different sizes (destination size is {anon.DiskSize}, source size is {src.DiskSize}) and can't be merged");
        }
        anon.MergeFrom(src);
        dst.MergeFrom(anon);
    }

    /// <summary>block_dirty_bitmap_lookup.</summary>
    private DirtyBitmap Lookup(string name) =>
        FindDirtyBitmap(name) ?? throw new BitmapOperationException($"Dirty bitmap '{name}' not found");

    /// <summary>bdrv_dirty_bitmap_check with BDRV_BITMAP_DEFAULT, or BDRV_BITMAP_ALLOW_RO.</summary>
    private static void CheckBitmapUsable(DirtyBitmap b, bool allowReadOnly)
    {
        if (!allowReadOnly && b.ReadOnly)
        {
            throw new BitmapOperationException($"Bitmap '{b.Name}' is readonly and cannot be modified");
        }
        if (b.Inconsistent)
        {
            throw new BitmapOperationException($"Bitmap '{b.Name}' is inconsistent and cannot be used", InconsistentHint);
        }
    }

    /// <summary>qcow2_truncate_bitmaps_check: null when every stored bitmap is loaded and usable, else QEMU's reason (and hint).</summary>
    private string? TruncateBitmapsCheck(out string? hint)
    {
        hint = null;
        if (_bitmapDirectory.Count == 0)
        {
            return null;
        }
        try
        {
            foreach (var bm in LoadBitmapDirectory())
            {
                var bitmap = FindDirtyBitmap(bm.Name);
                if (bitmap is null)
                {
                    return "Cannot resize qcow2 with persistent bitmaps that were not loaded into memory";
                }
                CheckBitmapUsable(bitmap, allowReadOnly: false);
            }
        }
        catch (BitmapOperationException e)
        {
            hint = e.Hint;
            return e.Message;
        }
        return null;
    }

    /// <summary>bdrv_dirty_bitmap_truncate after a resize: every bitmap now covers the new length.</summary>
    private void TruncateDirtyBitmaps()
    {
        foreach (var b in _dirtyBitmaps)
        {
            b.Truncate(BitmapDiskLength);
        }
    }
}
