using System.Buffers.Binary;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qcow2_detect_metadata_preallocation: an image counts as preallocated with metadata when clearly more clusters
/// carry a reference count than the image file occupies on disk. Only then does qemu's block status look at the
/// file's holes under data clusters (BDRV_BLOCK_RECURSE). Reads the refcount structures from the image file.
/// </summary>
public static class MetadataPreallocation
{
    /// <summary>Mask of the refcount block offset in a refcount table entry (bits 9-63).</summary>
    private const ulong RefTableOffsetMask = 0xFFFFFFFFFFFFFE00UL;

    /// <summary>Whether qemu would treat the image as preallocated with metadata.</summary>
    public static bool Detect(Qcow2Image image, FileStream file)
    {
        long cs = image.ClusterSize;
        long fileLength = (file.Length + ChainStatus.SectorSize - 1) / ChainStatus.SectorSize * ChainStatus.SectorSize;
        long realClusters = image.ActualSize / cs;
        long threshold = Math.Max(realClusters * 10 / 9, realClusters + 2);
        long endCluster = (fileLength + cs - 1) / cs;
        var reader = new RefcountReader(image, file);
        long count = 0;
        for (long i = 0; i < endCluster && count < threshold; i++)
        {
            if (reader.Refcount(i) != 0)
            {
                count++;
            }
        }
        return count >= threshold;
    }

    private sealed class RefcountReader(Qcow2Image image, FileStream file)
    {
        private readonly int _clusterSize = image.ClusterSize;
        private readonly int _bits = image.RefcountBits;
        private readonly long _tableOffset = (long)image.Header.RefcountTableOffset;
        private readonly long _tableEntries = (long)image.Header.RefcountTableClusters * image.ClusterSize / 8;
        private readonly byte[] _block = new byte[image.ClusterSize];
        private long _blockIndex = -1;
        private bool _blockPresent;

        public ulong Refcount(long cluster)
        {
            long perBlock = (long)_clusterSize * 8 / _bits;
            long tableIndex = cluster / perBlock;
            if (tableIndex >= _tableEntries)
            {
                return 0;
            }
            if (tableIndex != _blockIndex)
            {
                _blockIndex = tableIndex;
                _blockPresent = Load(tableIndex);
            }
            if (!_blockPresent)
            {
                return 0;
            }
            long i = cluster % perBlock;
            return _bits switch
            {
                1 => (ulong)(_block[i / 8] >> (int)(i % 8)) & 1,
                2 => (ulong)(_block[i / 4] >> (int)(2 * (i % 4))) & 3,
                4 => (ulong)(_block[i / 2] >> (int)(4 * (i % 2))) & 0xF,
                8 => _block[i],
                16 => BinaryPrimitives.ReadUInt16BigEndian(_block.AsSpan((int)(i * 2))),
                32 => BinaryPrimitives.ReadUInt32BigEndian(_block.AsSpan((int)(i * 4))),
                _ => BinaryPrimitives.ReadUInt64BigEndian(_block.AsSpan((int)(i * 8))),
            };
        }

        private bool Load(long tableIndex)
        {
            Span<byte> entry = stackalloc byte[8];
            if (!ReadAt(checked(_tableOffset + tableIndex * 8), entry))
            {
                return false;
            }
            long offset = (long)(BinaryPrimitives.ReadUInt64BigEndian(entry) & RefTableOffsetMask);
            return offset != 0 && ReadAt(offset, _block);
        }

        private bool ReadAt(long offset, Span<byte> buffer)
        {
            if (offset < 0 || offset > file.Length - buffer.Length)
            {
                return false;
            }
            file.Position = offset;
            file.ReadExactly(buffer);
            return true;
        }
    }
}
