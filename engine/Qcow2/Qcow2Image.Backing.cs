using System.Buffers.Binary;
using System.Text;
using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>QEMU keeps the backing file name in a 1024-byte buffer, so a longer name is refused.</summary>
    private const int MaxBackingFileNameBytes = 1023;

    /// <summary>make_completely_empty places the reftable, one refblock and the L1 table in the clusters after the header.</summary>
    private const int EmptyImageFixedClusters = 3;

    /// <summary>
    /// Rewrites the backing file name and format in the header as qcow2_change_backing_file does (null removes
    /// them); the backing image already opened stays attached. Throws BlockIOException (EINVAL) as QEMU refuses.
    /// </summary>
    public void ChangeBackingFile(string? backingFile, string? backingFormat)
    {
        CheckWritable();
        if (backingFile is not null && Encoding.UTF8.GetByteCount(backingFile) > MaxBackingFileNameBytes)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        if (backingFormat is not null && backingFile is null)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        if (backingFile is not null && (_header.AutoclearFeatures & Features.AutoclearDataFileRaw) != 0)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        BackingFileName = backingFile;
        BackingFormat = backingFormat;
        if (backingFile is null)
        {
            _header.BackingFileOffset = 0;
            _header.BackingFileSize = 0;
        }
        UpdateHeader();
    }

    /// <summary>
    /// Discards the whole guest disk as qcow2_make_empty does after qemu-img commit: small version 3 images without
    /// snapshots or bitmaps are reset to header, reftable, refblock and L1 (make_completely_empty); others have every
    /// cluster discarded.
    /// </summary>
    public void MakeEmpty()
    {
        CheckWritable();
        long entriesPerL1Cluster = _clusterSize / 8;
        long l1Clusters = (_l1Size + entriesPerL1Cluster - 1) / entriesPerL1Cluster;
        long refblockEntries = (long)_clusterSize * 8 / RefcountBits;
        bool hasBitmaps = (_header.AutoclearFeatures & Features.AutoclearBitmaps) != 0 && _bitmapDirectory.Size > 0;
        if (_header.Version >= 3 && _snapshots.Count == 0 && !hasBitmaps
            && EmptyImageFixedClusters + l1Clusters <= refblockEntries && _header.CryptMethod == 0)
        {
            MakeCompletelyEmpty(l1Clusters);
            return;
        }
        long step = int.MaxValue / _clusterSize * _clusterSize;
        long end = Size / 512 * 512;
        for (long offset = 0; offset < end; offset += step)
        {
            long length = Math.Min(step, end - offset);
            long clusters = SizeToClusters(length);
            for (long at = offset; clusters > 0;)
            {
                long done = DiscardFullyInL2Slice(at, clusters);
                clusters -= done;
                at += done << _clusterBits;
            }
        }
        _l2Cache.Flush();
        _refcounts.Cache.Flush();
    }

    private void MakeCompletelyEmpty(long l1Clusters)
    {
        _l2Cache.Flush();
        _l2Cache.Clear();
        _refcounts.Cache.Flush();
        _refcounts.Cache.Clear();
        MarkDirty();

        // The L1 table goes first; from here on the refcounts on disk no longer describe the image (it is dirty).
        _file.WriteZeroes(_l1TableOffset, l1Clusters * _clusterSize);
        Array.Clear(_l1Table);
        _file.WriteZeroes(_clusterSize, (2 + l1Clusters) * _clusterSize);

        // Reftable right after the header, the first refblock after it, the L1 table three clusters in.
        var pointers = new byte[8 + 8 + 4];
        BinaryPrimitives.WriteUInt64BigEndian(pointers, (ulong)(3L * _clusterSize));
        BinaryPrimitives.WriteUInt64BigEndian(pointers.AsSpan(8), (ulong)_clusterSize);
        BinaryPrimitives.WriteUInt32BigEndian(pointers.AsSpan(16), 1);
        _file.Write(Header.L1TableOffsetOffset, pointers);
        _file.Flush();
        _l1TableOffset = 3L * _clusterSize;
        _refcounts.Switch(new ulong[_clusterSize / 8], _clusterSize, _clusterSize / 8);

        var entry = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(entry, (ulong)(2L * _clusterSize));
        _file.Write(_clusterSize, entry);
        _file.Flush();
        _refcounts.SetEntry(0, 2UL * (ulong)_clusterSize);
        _refcounts.ResetFreeCursor();
        long first = AllocClusters(3L * _clusterSize + (long)_l1Size * 8);
        if (first != 0)
        {
            throw new CorruptImageException("First cluster in emptied image is in use");
        }
        MarkClean();
        _file.SetLength((EmptyImageFixedClusters + l1Clusters) * _clusterSize);
        CreateOverlapStructures();
    }
}
