
namespace Qcow2;

public sealed partial class Qcow2Image
{
    private bool TryGetRefcount(long clusterIndex, out ulong refcount)
    {
        try
        {
            refcount = GetRefcount(clusterIndex);
            return true;
        }
        catch (BlockIOException)
        {
            refcount = 0;
            return false;
        }
    }

    /// <summary>check_refblocks: validates the refcount table and counts every refcount block.</summary>
    private int CheckRefblocks(ref CheckTally res, CheckRepair fix, ref bool rebuild, RefcountArray table)
    {
        for (long i = 0; i < _refcounts.TableSize; i++)
        {
            long offset = (long)(_refcounts.Table[i] & RefcountTableEntryOffsetMask);
            long cluster = (long)((ulong)offset >> _clusterBits);
            if ((_refcounts.Table[i] & RefcountTableEntryReservedMask) != 0)
            {
                CheckPrint($"ERROR refcount table entry {i} has reserved bits set");
                res.Corruptions++;
                rebuild = true;
                continue;
            }
            if (OffsetIntoCluster(offset) != 0)
            {
                CheckPrint($"ERROR refcount block {i} is not cluster aligned; refcount table entry corrupted");
                res.Corruptions++;
                rebuild = true;
                continue;
            }
            if (cluster >= table.Size)
            {
                res.Corruptions++;
                bool repair = (fix & CheckRepair.Errors) != 0;
                CheckPrint($"{(repair ? "Repairing" : "ERROR")} refcount block {i} is outside image");
                if (repair)
                {
                    int ret = ResizeForRefblock(table, offset, cluster, out bool abort);
                    if (abort)
                    {
                        res.CheckErrors++;
                        return ret;
                    }
                    if (ret == 0)
                    {
                        res.Corruptions--;
                        res.CorruptionsFixed++;
                        ret = IncRefcounts(ref res, table, offset, _clusterSize);
                        if (ret < 0)
                        {
                            return ret;
                        }
                        // The area was just allocated and zeroed, so its refcount can only be exactly 1 now.
                        continue;
                    }
                    rebuild = true;
                    CheckPrint($"ERROR could not resize image: {StrError(ret)}");
                }
                continue;
            }
            if (offset != 0)
            {
                int ret = IncRefcounts(ref res, table, offset, _clusterSize);
                if (ret < 0)
                {
                    return ret;
                }
                if (table.Get(cluster) != 1)
                {
                    CheckPrint($"ERROR refcount block {i} refcount={table.Get(cluster)}");
                    res.Corruptions++;
                    rebuild = true;
                }
            }
        }
        return 0;
    }

    /// <summary>
    /// check_refblocks with repair: grows the file over a refcount block past its end, and the in-memory table with it;
    /// 0, or a negative errno. abort: the in-memory table could not grow, and the check stops.
    /// </summary>
    private int ResizeForRefblock(RefcountArray table, long offset, long cluster, out bool abort)
    {
        abort = false;
        if ((ulong)offset > (ulong)(long.MaxValue - _clusterSize))
        {
            return Neg(Errno.EINVAL);
        }
        if (offset + _clusterSize > Storage.StorageRequest.MaxLength)
        {
            // bdrv_co_truncate's bdrv_check_request refuses the new length before the file driver sees it.
            CheckReport($"offset({offset + _clusterSize}) exceeds maximum({Storage.StorageRequest.MaxLength})");
            return Neg(Errno.EIO);
        }
        int ret = Guard(() => _file.SetLength(offset + _clusterSize));
        if (ret != 0)
        {
            // The file driver's error_report_err: "Could not resize file: <strerror>".
            CheckReport($"Could not resize file: {StrError(ret)}");
            return ret;
        }
        long newNb = SizeToClusters(_file.Length);
        try
        {
            table.Resize(newNb);
        }
        catch (BlockIOException e)
        {
            abort = true;
            return Neg(e.Errno);
        }
        return cluster >= table.Size ? Neg(Errno.EINVAL) : 0;
    }
}
