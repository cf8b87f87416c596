using System.Buffers.Binary;
using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>The bitmap directory and the extension's count of bitmaps (QEMU's qcow2-bitmap.c).</summary>
    private readonly BitmapDirectory _bitmapDirectory;

    /// <summary>bitmap_list_load: reads and checks the bitmap directory; throws with QEMU's message.</summary>
    private List<BitmapDirectoryEntry> LoadBitmapDirectory() => _bitmapDirectory.Load();

    /// <summary>Fields of the bitmaps extension (engine/Format/HeaderExtension).</summary>
    private const int BitmapsExtNbBitmapsField = HeaderExtension.BitmapsNbBitmapsOffset,
        BitmapsExtDirectorySizeField = HeaderExtension.BitmapsDirectorySizeOffset,
        BitmapsExtDirectoryOffsetField = HeaderExtension.BitmapsDirectoryOffsetOffset;

    /// <summary>The in-memory bitmaps in QEMU's bs->dirty_bitmaps order (the most recently created first).</summary>
    private readonly List<DirtyBitmap> _dirtyBitmaps = new();

    /// <summary>Gives the bitmaps extension its place: right after the feature table, first of the kept extensions, or drops it.</summary>
    private void SyncBitmapsExtension()
    {
        _unknownExtensions.RemoveAll(e => e.Type == HeaderExtension.Bitmaps);
        if (_bitmapDirectory.Count == 0)
        {
            return;
        }
        var data = new byte[HeaderExtension.BitmapsSize];
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(BitmapsExtNbBitmapsField), _bitmapDirectory.Count);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(BitmapsExtDirectorySizeField), (ulong)_bitmapDirectory.Size);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(BitmapsExtDirectoryOffsetField), (ulong)_bitmapDirectory.Offset);
        _unknownExtensions.Insert(0, new HeaderExtension(HeaderExtension.Bitmaps, data));
    }

    /// <summary>update_header_sync: rewrites the header (with the current bitmaps extension) and flushes the file.</summary>
    private void UpdateHeaderSync()
    {
        SyncBitmapsExtension();
        UpdateHeader();
        _file.Flush();
    }

    /// <summary>bdrv_getlength of the qcow2 node: the virtual size in whole sectors.</summary>
    private long BitmapDiskLength => (long)(_header.Size & ~511UL);

    /// <summary>bitmap_table_load: the table's entries, or null when one is invalid.</summary>
    private ulong[]? LoadBitmapTable(long offset, uint size)
    {
        var raw = ReadFile(offset, checked((int)size * BitmapTableEntry.Size));
        var table = new ulong[size];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * BitmapTableEntry.Size));
            if (!new BitmapTableEntry(table[i]).IsValid(_clusterSize))
            {
                return null;
            }
        }
        return table;
    }

    /// <summary>qcow2_load_dirty_bitmaps at open: creates the in-memory bitmaps and, when writable, marks them in use on disk.</summary>
    /// <returns>Whether the header was rewritten.</returns>
    private bool LoadDirtyBitmaps()
    {
        SyncBitmapsExtension();
        if (_bitmapDirectory.Count == 0)
        {
            return false;
        }
        List<BitmapDirectoryEntry> list;
        try
        {
            list = LoadBitmapDirectory();
            bool needsUpdate = false;
            foreach (var bm in list)
            {
                var bitmap = LoadBitmap(bm);
                bitmap.Persistent = true;
                if ((bm.Flags & BitmapDirectoryEntry.FlagInUse) != 0)
                {
                    bitmap.Inconsistent = true;
                }
                else
                {
                    bm.Flags |= BitmapDirectoryEntry.FlagInUse;
                    needsUpdate = true;
                }
                bitmap.Enabled = (bm.Flags & BitmapDirectoryEntry.FlagAuto) != 0;
                bitmap.ReadOnly = _readOnly;
                _dirtyBitmaps.Insert(0, bitmap);
            }
            if (needsUpdate && !_readOnly)
            {
                try
                {
                    UpdateExtHeaderAndDirInPlace(list);
                }
                catch (BlockIOException e)
                {
                    throw new BitmapOperationException($"Can't update bitmap directory: {e.Message}");
                }
                return true;
            }
            return false;
        }
        catch (BitmapOperationException e)
        {
            _dirtyBitmaps.Clear();
            throw new ImageOpenException(e.Message, Errno.EINVAL);
        }
    }

    /// <summary>load_bitmap: the in-memory bitmap of a directory entry, with its data unless it is in use.</summary>
    private DirtyBitmap LoadBitmap(BitmapDirectoryEntry bm)
    {
        string name = bm.Name;
        if (FindDirtyBitmap(name) is not null)
        {
            throw new BitmapOperationException($"Bitmap already exists: {name}");
        }
        var bitmap = new DirtyBitmap(name, bm.GranularityBits, BitmapDiskLength);
        if ((bm.Flags & BitmapDirectoryEntry.FlagInUse) != 0)
        {
            return bitmap;
        }
        string einval = ErrnoText.Of(Errno.EINVAL);
        var table = LoadBitmapTable(bm.TableOffset, bm.TableSize)
            ?? throw new BitmapOperationException($"Could not read bitmap_table table from image for bitmap '{name}': {einval}");
        long tabSize = SizeToClusters(bitmap.SerializedSize);
        if (tabSize != bm.TableSize || tabSize > BitmapDirectoryEntry.MaxTableSize)
        {
            throw new BitmapOperationException($"Could not read bitmap '{name}' from image: {einval}");
        }
        long coverage = bitmap.Granularity * _clusterSize * 8;
        for (long i = 0; i < tabSize; i++)
        {
            var entry = new BitmapTableEntry(table[i]);
            if (entry.Offset == 0)
            {
                if (entry.AllOnes)
                {
                    bitmap.SetRange(i * coverage, Math.Min(bitmap.DiskSize - i * coverage, coverage));
                }
                continue;
            }
            bitmap.Deserialize(i * _clusterSize, ReadFile(entry.Offset, _clusterSize));
        }
        return bitmap;
    }

    private DirtyBitmap? FindDirtyBitmap(string name) => _dirtyBitmaps.FirstOrDefault(b => b.Name == name);

    /// <summary>update_ext_header_and_dir_in_place: rewrites the directory where it is, with the autoclear bit off meanwhile.</summary>
    private void UpdateExtHeaderAndDirInPlace(List<BitmapDirectoryEntry> list)
    {
        if ((_header.AutoclearFeatures & Features.AutoclearBitmaps) == 0 || list.Count == 0 || list.Count != _bitmapDirectory.Count)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        _header.AutoclearFeatures &= ~Features.AutoclearBitmaps;
        UpdateHeaderSync();
        long offset = _bitmapDirectory.Offset, size = _bitmapDirectory.Size;
        _bitmapDirectory.Store(list, ref offset, ref size, inPlace: true);
        UpdateHeaderSync();
        _header.AutoclearFeatures |= Features.AutoclearBitmaps;
        UpdateHeaderSync();
    }

    /// <summary>update_ext_header_and_dir: writes a new directory (or none), points the header at it and frees the old one.</summary>
    private void UpdateExtHeaderAndDir(List<BitmapDirectoryEntry> list)
    {
        long oldOffset = _bitmapDirectory.Offset, oldSize = _bitmapDirectory.Size;
        uint oldNb = _bitmapDirectory.Count;
        ulong oldAutoclear = _header.AutoclearFeatures;
        long newOffset = 0, newSize = 0;
        uint newNb = 0;
        if (list.Count > 0)
        {
            newNb = (uint)list.Count;
            if (newNb > MaxBitmaps)
            {
                throw new BlockIOException(Errno.EINVAL);
            }
            _bitmapDirectory.Store(list, ref newOffset, ref newSize, inPlace: false);
        }
        try
        {
            if (list.Count > 0)
            {
                FlushCaches();
                _header.AutoclearFeatures |= Features.AutoclearBitmaps;
            }
            else
            {
                _header.AutoclearFeatures &= ~Features.AutoclearBitmaps;
            }
            _bitmapDirectory.Set(newNb, newOffset, newSize);
            UpdateHeaderSync();
        }
        catch (BlockIOException)
        {
            if (newOffset > 0)
            {
                FreeClusters(newOffset, newSize, DiscardType.Other);
            }
            _bitmapDirectory.Set(oldNb, oldOffset, oldSize);
            _header.AutoclearFeatures = oldAutoclear;
            throw;
        }
        if ((oldAutoclear & Features.AutoclearBitmaps) != 0)
        {
            _tracker.Remove(oldOffset, oldSize, Overlap.OverlapTypes.BitmapDirectory);
        }
        if (newSize > 0)
        {
            _tracker.Enter(newOffset, newSize, Overlap.OverlapTypes.BitmapDirectory);
        }
        if (oldSize > 0)
        {
            FreeClusters(oldOffset, oldSize, DiscardType.Other);
        }
    }

    /// <summary>
    /// free_bitmap_clusters: frees a bitmap's data clusters and its table. Nothing is freed (and nothing thrown) when the
    /// table cannot be read or is invalid: QEMU's callers ignore the error and the clusters leak.
    /// </summary>
    private void FreeBitmapClusters(long tableOffset, uint tableSize)
    {
        ulong[]? table;
        try
        {
            table = LoadBitmapTable(tableOffset, tableSize);
        }
        catch (BlockIOException)
        {
            return;
        }
        if (table is null)
        {
            return;
        }
        foreach (ulong e in table)
        {
            long data = new BitmapTableEntry(e).Offset;
            if (data != 0)
            {
                FreeClusters(data, _clusterSize, DiscardType.Always);
            }
        }
        FreeClusters(tableOffset, (long)tableSize * BitmapTableEntry.Size, DiscardType.Other);
    }
}
