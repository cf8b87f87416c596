using System.Buffers.Binary;
using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>nb_bitmaps of the bitmaps extension (0: no extension).</summary>
    private uint _nbBitmaps;

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
        if (_nbBitmaps == 0)
        {
            return;
        }
        var data = new byte[HeaderExtension.BitmapsSize];
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(BitmapsExtNbBitmapsField), _nbBitmaps);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(BitmapsExtDirectorySizeField), (ulong)_bitmapDirectorySize);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(BitmapsExtDirectoryOffsetField), (ulong)_bitmapDirectoryOffset);
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

    /// <summary>bitmap_list_load: reads and checks the bitmap directory; throws with QEMU's message.</summary>
    private List<BitmapDirectoryEntry> LoadBitmapDirectory()
    {
        if (_bitmapDirectorySize == 0)
        {
            throw new BitmapOperationException("Requested bitmap directory size is zero");
        }
        if ((ulong)_bitmapDirectorySize > MaxBitmapDirectorySize)
        {
            throw new BitmapOperationException("Requested bitmap directory size is too big");
        }
        byte[] dir;
        try
        {
            dir = ReadFile(_bitmapDirectoryOffset, (int)_bitmapDirectorySize);
        }
        catch (BlockIOException e)
        {
            throw new BitmapOperationException($"Failed to read bitmap directory: {e.Message}");
        }
        var list = new List<BitmapDirectoryEntry>();
        long pos = 0;
        uint count = 0;
        const string broken = "Broken bitmap directory";
        while (pos < dir.Length)
        {
            if (pos + BitmapDirectoryEntry.FixedSize > dir.Length)
            {
                throw new BitmapOperationException(broken);
            }
            if (++count > _nbBitmaps)
            {
                throw new BitmapOperationException("More bitmaps found than specified in header extension");
            }
            var e = BitmapDirectoryEntry.ReadFixed(dir.AsSpan((int)pos), out int nameSize);
            long size = ((long)BitmapDirectoryEntry.FixedSize + nameSize + e.ExtraDataSize + 7) & ~7L;
            if (pos + size > dir.Length)
            {
                throw new BitmapOperationException(broken);
            }
            if (e.ExtraDataSize != 0)
            {
                throw new BitmapOperationException("Bitmap extra data is not supported");
            }
            e.RawName = dir.AsSpan((int)pos + BitmapDirectoryEntry.FixedSize, nameSize).ToArray();
            if (!CheckDirEntry(e))
            {
                throw new BitmapOperationException($"Bitmap '{e.Name}' doesn't satisfy the constraints");
            }
            // QEMU keeps the name as a C string: whatever follows a NUL is gone when the entry is written back.
            e.RawName = System.Text.Encoding.UTF8.GetBytes(e.Name);
            list.Add(e);
            pos += size;
        }
        if (count != _nbBitmaps)
        {
            throw new BitmapOperationException("Less bitmaps found than specified in header extension");
        }
        return list;
    }

    /// <summary>check_dir_entry: the entry's fields are in range and its table is large enough for the disk (unless in use).</summary>
    private bool CheckDirEntry(BitmapDirectoryEntry e)
    {
        bool fail = e.TableSize == 0 || e.TableOffset == 0 || OffsetIntoCluster(e.TableOffset) != 0
            || e.TableSize > BitmapDirectoryEntry.MaxTableSize
            || e.GranularityBits > BitmapDirectoryEntry.MaxGranularityBits
            || e.GranularityBits < BitmapDirectoryEntry.MinGranularityBits
            || (e.Flags & BitmapDirectoryEntry.ReservedFlags) != 0
            || e.RawName.Length > BitmapDirectoryEntry.MaxNameSize
            || e.Type != BitmapDirectoryEntry.TypeDirtyTracking;
        if (fail)
        {
            return false;
        }
        ulong physBytes = (ulong)e.TableSize * (ulong)_clusterSize;
        if (physBytes > BitmapDirectoryEntry.MaxPhysSize)
        {
            return false;
        }
        return (e.Flags & BitmapDirectoryEntry.FlagInUse) != 0
            || (ulong)BitmapDiskLength <= (physBytes * 8) << e.GranularityBits;
    }

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
        if (_nbBitmaps == 0)
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
        if ((_header.AutoclearFeatures & Features.AutoclearBitmaps) == 0 || list.Count == 0 || list.Count != _nbBitmaps)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        _header.AutoclearFeatures &= ~Features.AutoclearBitmaps;
        UpdateHeaderSync();
        long offset = _bitmapDirectoryOffset, size = _bitmapDirectorySize;
        BitmapListStore(list, ref offset, ref size, inPlace: true);
        UpdateHeaderSync();
        _header.AutoclearFeatures |= Features.AutoclearBitmaps;
        UpdateHeaderSync();
    }

    /// <summary>bitmap_list_store: writes the directory, in place or into newly allocated clusters.</summary>
    private void BitmapListStore(List<BitmapDirectoryEntry> list, ref long offset, ref long size, bool inPlace)
    {
        long dirSize = list.Sum(b => (long)BitmapDirectoryEntry.EntrySize(b.RawName.Length, 0));
        if (dirSize == 0 || (ulong)dirSize > MaxBitmapDirectorySize)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        if (inPlace && (size != dirSize || offset == 0))
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        var dir = new byte[dirSize];
        int pos = 0;
        foreach (var bm in list)
        {
            bm.Type = BitmapDirectoryEntry.TypeDirtyTracking;
            bm.ExtraDataSize = 0;
            if (!CheckDirEntry(bm))
            {
                throw new BlockIOException(Errno.EINVAL);
            }
            pos += bm.WriteTo(dir.AsSpan(pos));
        }
        long dirOffset = inPlace ? offset : AllocClusters(dirSize);
        try
        {
            PreWriteOverlapCheck(inPlace ? Overlap.OverlapTypes.BitmapDirectory : Overlap.OverlapTypes.None, dirOffset, dirSize);
            _file.Write(dirOffset, dir);
        }
        catch (BlockIOException)
        {
            if (!inPlace)
            {
                FreeClusters(dirOffset, dirSize, DiscardType.Other);
            }
            throw;
        }
        offset = dirOffset;
        size = dirSize;
    }

    /// <summary>update_ext_header_and_dir: writes a new directory (or none), points the header at it and frees the old one.</summary>
    private void UpdateExtHeaderAndDir(List<BitmapDirectoryEntry> list)
    {
        long oldOffset = _bitmapDirectoryOffset, oldSize = _bitmapDirectorySize;
        uint oldNb = _nbBitmaps;
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
            BitmapListStore(list, ref newOffset, ref newSize, inPlace: false);
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
            _bitmapDirectoryOffset = newOffset;
            _bitmapDirectorySize = newSize;
            _nbBitmaps = newNb;
            UpdateHeaderSync();
        }
        catch (BlockIOException)
        {
            if (newOffset > 0)
            {
                FreeClusters(newOffset, newSize, DiscardType.Other);
            }
            _bitmapDirectoryOffset = oldOffset;
            _bitmapDirectorySize = oldSize;
            _nbBitmaps = oldNb;
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
