using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>BDRV_SECTOR_SIZE: the file length is counted in whole sectors.</summary>
    private const int PreallocationSectorSize = 512;

    /// <summary>
    /// qcow2_detect_metadata_preallocation: whether clearly more clusters carry a reference count than the image
    /// file occupies on disk (at least 10/9 of them, and 2 more), given the file's length in bytes. Refcount blocks
    /// are read from the file without the cache and without corruption checks: one that is missing or lies past the
    /// end of the file counts as all zeros.
    /// </summary>
    public bool DetectMetadataPreallocation(long fileLength)
    {
        long cs = _clusterSize;
        long sectorsLength = (fileLength + PreallocationSectorSize - 1) / PreallocationSectorSize * PreallocationSectorSize;
        long realClusters = ActualSize / cs;
        long threshold = Math.Max(realClusters * 10 / 9, realClusters + 2);
        long endCluster = (sectorsLength + cs - 1) / cs;
        long perBlock = cs * 8 / RefcountBits;
        var block = new byte[cs];
        long loaded = -1;
        bool present = false;
        long count = 0;
        for (long i = 0; i < endCluster && count < threshold; i++)
        {
            long tableIndex = i / perBlock;
            if (tableIndex >= _refcounts.TableSize)
            {
                continue;
            }
            if (tableIndex != loaded)
            {
                loaded = tableIndex;
                long offset = (long)(_refcounts.Table[tableIndex] & RefcountTableEntry.OffsetMask);
                // An entry of 2^63 or more is negative here: no file offset, so it counts as missing too.
                present = offset > 0 && offset <= fileLength - cs;
                if (present)
                {
                    _file.Read(offset, block);
                }
            }
            if (present && RefcountBlock.Get(block, i % perBlock, _refcounts.Order) != 0)
            {
                count++;
            }
        }
        return count >= threshold;
    }
}
