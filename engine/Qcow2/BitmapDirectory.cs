using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>What the bitmap directory needs from the image it belongs to.</summary>
internal interface IBitmapDirectoryHost
{
    /// <summary>The image file as it is now (an overlay while a crash-safe operation runs).</summary>
    IStorage File { get; }

    /// <summary>Where the clusters of a new directory come from, and go when it cannot be written.</summary>
    Refcounts Refcounts { get; }

    /// <summary>The image's cluster size in bytes.</summary>
    int ClusterSize { get; }

    /// <summary>bdrv_getlength of the qcow2 node: the virtual size in whole sectors.</summary>
    long DiskLength { get; }

    /// <summary>The pre-write overlap check for [offset, offset + size), ignoring the structures of ignore.</summary>
    void PreWriteOverlapCheck(OverlapTypes ignore, long offset, long size);
}

/// <summary>
/// The bitmap directory (QEMU's qcow2-bitmap.c, bitmap_list_load and bitmap_list_store): how many bitmaps the
/// bitmaps extension counts and where their directory is. The header extension and the overlap tracking of a
/// moved directory are the image's (update_ext_header_and_dir).
/// </summary>
internal sealed class BitmapDirectory(IBitmapDirectoryHost host)
{
    /// <summary>nb_bitmaps of the bitmaps extension (0: no extension).</summary>
    public uint Count { get; private set; }

    /// <summary>Where the directory is in the file.</summary>
    public long Offset { get; private set; }

    /// <summary>The directory's size in bytes.</summary>
    public long Size { get; private set; }

    /// <summary>Takes the extension's fields (as read, or as about to be written).</summary>
    public void Set(uint count, long offset, long size)
    {
        Count = count;
        Offset = offset;
        Size = size;
    }

    private byte[] ReadDirectory()
    {
        var b = new byte[(int)Size];
        host.File.Read(Offset, b);
        return b;
    }

    /// <summary>bitmap_list_load: reads and checks the bitmap directory; throws with QEMU's message.</summary>
    public List<BitmapDirectoryEntry> Load()
    {
        if (Size == 0)
        {
            throw new BitmapOperationException("Requested bitmap directory size is zero");
        }
        if ((ulong)Size > Qcow2Image.MaxBitmapDirectorySize)
        {
            throw new BitmapOperationException("Requested bitmap directory size is too big");
        }
        byte[] dir;
        try
        {
            dir = ReadDirectory();
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
            if (++count > Count)
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
            if (!CheckEntry(e))
            {
                throw new BitmapOperationException($"Bitmap '{e.Name}' doesn't satisfy the constraints");
            }
            // QEMU keeps the name as a C string: whatever follows a NUL is gone when the entry is written back.
            e.RawName = System.Text.Encoding.UTF8.GetBytes(e.Name);
            list.Add(e);
            pos += size;
        }
        if (count != Count)
        {
            throw new BitmapOperationException("Less bitmaps found than specified in header extension");
        }
        return list;
    }

    /// <summary>check_dir_entry: the entry's fields are in range and its table is large enough for the disk (unless in use).</summary>
    private bool CheckEntry(BitmapDirectoryEntry e)
    {
        bool fail = e.TableSize == 0 || e.TableOffset == 0 || (e.TableOffset & (host.ClusterSize - 1)) != 0
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
        ulong physBytes = (ulong)e.TableSize * (ulong)host.ClusterSize;
        if (physBytes > BitmapDirectoryEntry.MaxPhysSize)
        {
            return false;
        }
        return (e.Flags & BitmapDirectoryEntry.FlagInUse) != 0
            || (ulong)host.DiskLength <= (physBytes * 8) << e.GranularityBits;
    }

    /// <summary>bitmap_list_store: writes the directory, in place or into newly allocated clusters.</summary>
    public void Store(List<BitmapDirectoryEntry> list, ref long offset, ref long size, bool inPlace)
    {
        long dirSize = list.Sum(b => (long)BitmapDirectoryEntry.EntrySize(b.RawName.Length, 0));
        if (dirSize == 0 || (ulong)dirSize > Qcow2Image.MaxBitmapDirectorySize)
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
            if (!CheckEntry(bm))
            {
                throw new BlockIOException(Errno.EINVAL);
            }
            pos += bm.WriteTo(dir.AsSpan(pos));
        }
        long dirOffset = inPlace ? offset : host.Refcounts.Alloc(dirSize);
        try
        {
            host.PreWriteOverlapCheck(inPlace ? OverlapTypes.BitmapDirectory : OverlapTypes.None, dirOffset, dirSize);
            host.File.Write(dirOffset, dir);
        }
        catch (BlockIOException)
        {
            if (!inPlace)
            {
                host.Refcounts.Free(dirOffset, dirSize, DiscardType.Other);
            }
            throw;
        }
        offset = dirOffset;
        size = dirSize;
    }
}
