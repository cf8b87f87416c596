using System.Buffers.Binary;
using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>bdrv_set_dirty: a guest write, zero write or discard of [offset, offset + bytes) dirties every enabled bitmap.</summary>
    private void MarkBitmapsDirty(long offset, long bytes)
    {
        foreach (var b in _dirtyBitmaps)
        {
            if (b.Enabled && !b.ReadOnly)
            {
                b.SetRange(offset, bytes);
            }
        }
    }

    /// <summary>
    /// qcow2_store_persistent_dirty_bitmaps on close: writes every writable persistent bitmap (data clusters, then its
    /// table) in directory order, a new directory, and frees the old directory and the old tables; throws with QEMU's message.
    /// </summary>
    private void StorePersistentDirtyBitmaps()
    {
        var list = _bitmapDirectory.Count == 0 ? new List<BitmapDirectoryEntry>() : LoadBitmapDirectory();
        var owners = new Dictionary<BitmapDirectoryEntry, DirtyBitmap>();
        var dropTables = new List<(long Offset, uint Size)>();
        uint newNb = _bitmapDirectory.Count;
        long newDirSize = _bitmapDirectory.Size;
        bool needWrite = false;
        foreach (var bitmap in _dirtyBitmaps)
        {
            if (!bitmap.Persistent || bitmap.Inconsistent || bitmap.ReadOnly)
            {
                continue;
            }
            needWrite = true;
            string? error = CheckBitmapConstraints(bitmap.Name, bitmap.Granularity);
            if (error is not null)
            {
                throw new BitmapOperationException($"Bitmap '{bitmap.Name}' doesn't satisfy the constraints: {error}");
            }
            var bm = list.FirstOrDefault(e => e.Name == bitmap.Name);
            if (bm is null)
            {
                if (++newNb > MaxBitmaps)
                {
                    throw new BitmapOperationException("Too many persistent bitmaps");
                }
                byte[] name = System.Text.Encoding.UTF8.GetBytes(bitmap.Name);
                newDirSize += BitmapDirectoryEntry.EntrySize(name.Length, 0);
                if ((ulong)newDirSize > MaxBitmapDirectorySize)
                {
                    throw new BitmapOperationException("Bitmap directory is too large");
                }
                bm = new BitmapDirectoryEntry { RawName = name };
                list.Add(bm);
            }
            else
            {
                if ((bm.Flags & BitmapDirectoryEntry.FlagInUse) == 0)
                {
                    throw new BitmapOperationException($"Bitmap '{bitmap.Name}' already exists in the image");
                }
                dropTables.Add((bm.TableOffset, bm.TableSize));
                bm.TableOffset = 0;
                bm.TableSize = 0;
            }
            bm.Flags = bitmap.Enabled ? BitmapDirectoryEntry.FlagAuto : 0;
            bm.GranularityBits = bitmap.GranularityBits;
            owners[bm] = bitmap;
        }
        if (!needWrite)
        {
            return;
        }
        if (_readOnly)
        {
            throw new BitmapOperationException("No write access");
        }
        WriteStoredBitmaps(list, owners);
        foreach (var (offset, size) in dropTables)
        {
            FreeBitmapClusters(offset, size);
        }
    }

    /// <summary>
    /// Writes the data and table of every bitmap in owners and then the new directory; when that fails, frees the
    /// tables written so far before the error goes on.
    /// </summary>
    private void WriteStoredBitmaps(List<BitmapDirectoryEntry> list, Dictionary<BitmapDirectoryEntry, DirtyBitmap> owners)
    {
        try
        {
            foreach (var bm in list)
            {
                if (owners.TryGetValue(bm, out var bitmap))
                {
                    StoreBitmap(bm, bitmap);
                }
            }
            try
            {
                UpdateExtHeaderAndDir(list);
            }
            catch (BlockIOException e)
            {
                throw new BitmapOperationException($"Failed to update bitmap extension: {e.Message}");
            }
        }
        catch (BitmapOperationException)
        {
            foreach (var bm in list)
            {
                if (owners.ContainsKey(bm) && bm.TableOffset != 0)
                {
                    FreeBitmapClusters(bm.TableOffset, bm.TableSize);
                }
            }
            throw;
        }
    }

    /// <summary>store_bitmap and store_bitmap_data: one cluster per stretch of the bitmap with a dirty bit, then the table.</summary>
    private void StoreBitmap(BitmapDirectoryEntry bm, DirtyBitmap bitmap)
    {
        string name = bitmap.Name;
        long tbSize = SizeToClusters(bitmap.SerializedSize);
        if (tbSize > BitmapDirectoryEntry.MaxTableSize || tbSize * _clusterSize > BitmapDirectoryEntry.MaxPhysSize)
        {
            throw new BitmapOperationException($"Bitmap '{name}' is too big");
        }
        if (tbSize == 0)
        {
            // g_try_new0 of no entries returns NULL (a bitmap of a zero-sized image).
            throw new BitmapOperationException("No memory");
        }
        var tb = new ulong[tbSize];
        long bitsPerCluster = (long)_clusterSize * 8;
        var buf = new byte[_clusterSize];
        try
        {
            for (long bit = bitmap.NextSet(0); bit >= 0; bit = bitmap.NextSet((bit / bitsPerCluster + 1) * bitsPerCluster))
            {
                long cluster = bit / bitsPerCluster;
                long off = AllocBitmapCluster(_clusterSize, name);
                tb[cluster] = (ulong)off;
                bitmap.Serialize(cluster * _clusterSize, buf);
                WriteBitmapMetadata(off, buf, name);
            }
        }
        catch (BitmapOperationException)
        {
            ClearBitmapTable(tb);
            throw;
        }
        long tbOffset = 0;
        try
        {
            tbOffset = AllocBitmapCluster(tbSize * BitmapTableEntry.Size, name);
            var raw = new byte[tbSize * BitmapTableEntry.Size];
            for (int i = 0; i < tb.Length; i++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(raw.AsSpan(i * BitmapTableEntry.Size), tb[i]);
            }
            WriteBitmapMetadata(tbOffset, raw, name);
        }
        catch (BitmapOperationException)
        {
            ClearBitmapTable(tb);
            if (tbOffset > 0)
            {
                FreeClusters(tbOffset, tbSize * BitmapTableEntry.Size, DiscardType.Other);
            }
            throw;
        }
        bm.TableOffset = tbOffset;
        bm.TableSize = (uint)tbSize;
    }

    private long AllocBitmapCluster(long size, string name)
    {
        try
        {
            return AllocClusters(size);
        }
        catch (BlockIOException e)
        {
            throw new BitmapOperationException($"Failed to allocate clusters for bitmap '{name}': {e.Message}");
        }
    }

    private void WriteBitmapMetadata(long offset, byte[] data, string name)
    {
        try
        {
            PreWriteOverlapCheck(Overlap.OverlapTypes.None, offset, data.Length);
        }
        catch (BlockIOException e)
        {
            throw new BitmapOperationException($"Qcow2 overlap check failed: {e.Message}");
        }
        try
        {
            _file.Write(offset, data);
        }
        catch (BlockIOException e)
        {
            throw new BitmapOperationException($"Failed to write bitmap '{name}' to file: {e.Message}");
        }
    }

    /// <summary>clear_bitmap_table: frees the data clusters a table being built points to.</summary>
    private void ClearBitmapTable(ulong[] tb)
    {
        for (int i = 0; i < tb.Length; i++)
        {
            long addr = (long)(tb[i] & BitmapTableEntry.OffsetMask);
            if (addr != 0)
            {
                FreeClusters(addr, _clusterSize, DiscardType.Always);
                tb[i] = 0;
            }
        }
    }

    /// <summary>check_constraints_on_bitmap: null when a bitmap of that name and granularity can be stored, else QEMU's reason.</summary>
    private string? CheckBitmapConstraints(string name, long granularity)
    {
        int bits = System.Numerics.BitOperations.TrailingZeroCount(granularity);
        long len = BitmapDiskLength;
        if (bits > BitmapDirectoryEntry.MaxGranularityBits)
        {
            return $"Granularity exceeds maximum ({1UL << BitmapDirectoryEntry.MaxGranularityBits} bytes)";
        }
        if (bits < BitmapDirectoryEntry.MinGranularityBits)
        {
            return $"Granularity is under minimum ({1UL << BitmapDirectoryEntry.MinGranularityBits} bytes)";
        }
        long bitmapBytes = ((len + granularity - 1) / granularity + 7) / 8;
        if (bitmapBytes > BitmapDirectoryEntry.MaxPhysSize || bitmapBytes > (long)BitmapDirectoryEntry.MaxTableSize * _clusterSize)
        {
            return "Too much space will be occupied by the bitmap. Use larger granularity";
        }
        if (System.Text.Encoding.UTF8.GetByteCount(name) > BitmapDirectoryEntry.MaxNameSize)
        {
            return $"Name length exceeds maximum ({BitmapDirectoryEntry.MaxNameSize} characters)";
        }
        return null;
    }
}
