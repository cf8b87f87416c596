using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Bits 0..8 of a refcount table entry are reserved.</summary>
    private const ulong RefcountTableEntryReservedMask = 0x1ff;

    /// <summary>
    /// The in-memory refcount table of a check (QEMU's IMRT): refcounts of Size clusters in the on-disk refblock
    /// layout, held in whole clusters so that a slice can be written as a refcount block.
    /// </summary>
    private sealed class RefcountArray(Qcow2Image img)
    {
        public byte[] Data { get; private set; } = [];

        /// <summary>Entries in use (QEMU's nb_clusters / refcount_table_size).</summary>
        public long Size { get; private set; }

        private long ByteSize(long entries) =>
            img.SizeToClusters(((entries << img._refcounts.Order) + 7) / 8) * img._clusterSize;

        public ulong Get(long index) => RefcountBlock.Get(Data, index, img._refcounts.Order);

        public void Set(long index, ulong value) => RefcountBlock.Set(Data, index, img._refcounts.Order, value);

        /// <summary>realloc_refcount_array: grows (zero-filled) or shrinks to newSize entries.</summary>
        public void Resize(long newSize)
        {
            long oldBytes = ByteSize(Size), newBytes = ByteSize(newSize);
            if (oldBytes != newBytes)
            {
                if (newBytes > Array.MaxLength)
                {
                    throw new BlockIOException(Errno.ENOMEM);
                }
                var d = Data;
                Array.Resize(ref d, (int)newBytes);
                Data = d;
            }
            Size = newSize;
        }

        public void Clear() => Array.Clear(Data);
    }

    /// <summary>qcow2_inc_refcounts_imrt: counts one more reference to every cluster of [offset, offset + size).</summary>
    private int IncRefcounts(ref CheckTally res, RefcountArray table, long offset, long size)
    {
        if (size <= 0)
        {
            return 0;
        }
        long fileLength = _file.Length;
        // The last cluster may be partly allocated, so up to one cluster past the end is tolerated.
        if (offset + size - fileLength >= _clusterSize)
        {
            CheckPrint($"ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x{offset:x} size 0x{size:x}");
            res.Corruptions++;
            return 0;
        }
        long start = StartOfCluster(offset);
        long last = StartOfCluster(offset + size - 1);
        for (long clusterOffset = start; clusterOffset <= last; clusterOffset += _clusterSize)
        {
            long k = clusterOffset >> _clusterBits;
            if (k >= table.Size)
            {
                try
                {
                    table.Resize(k + 1);
                }
                catch (BlockIOException e)
                {
                    res.CheckErrors++;
                    return Neg(e.Errno);
                }
            }
            ulong refcount = table.Get(k);
            if (refcount == _refcounts.Max)
            {
                CheckPrint($"ERROR: overflow cluster offset=0x{clusterOffset:x}");
                CheckPrint("Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a clean copy if the image cannot be opened for writing");
                res.Corruptions++;
                continue;
            }
            table.Set(k, refcount + 1);
        }
        return 0;
    }

    /// <summary>calculate_refcounts: builds the in-memory refcount table from every structure that references clusters.</summary>
    private int CalculateRefcounts(ref CheckTally res, CheckRepair fix, ref bool rebuild, RefcountArray table, long nbClusters)
    {
        if (table.Data.Length == 0)
        {
            try
            {
                table.Resize(nbClusters);
            }
            catch (BlockIOException e)
            {
                res.CheckErrors++;
                return Neg(e.Errno);
            }
        }
        int ret = IncRefcounts(ref res, table, 0, _clusterSize);
        if (ret < 0)
        {
            return ret;
        }
        ret = CheckRefcountsL1(ref res, table, _l1TableOffset, _l1Size, true, fix, true);
        if (ret < 0)
        {
            return ret;
        }
        foreach (var sn in _snapshots)
        {
            if (OffsetIntoCluster((long)sn.L1TableOffset) != 0)
            {
                CheckPrint($"ERROR snapshot {sn.Id} ({sn.Name}) l1_offset={Hex((long)sn.L1TableOffset)}: L1 table is not cluster aligned; snapshot table entry corrupted");
                res.Corruptions++;
                continue;
            }
            if (sn.L1Size > MaxL1SizeBytes / L1Entry.Size)
            {
                CheckPrint($"ERROR snapshot {sn.Id} ({sn.Name}) l1_size={Hex(sn.L1Size)}: L1 table is too large; snapshot table entry corrupted");
                res.Corruptions++;
                continue;
            }
            ret = CheckRefcountsL1(ref res, table, (long)sn.L1TableOffset, sn.L1Size, false, fix, false);
            if (ret < 0)
            {
                return ret;
            }
        }
        ret = IncRefcounts(ref res, table, _snapshots.Offset, _snapshots.Size);
        if (ret < 0)
        {
            return ret;
        }
        ret = IncRefcounts(ref res, table, _refcounts.TableOffset, _refcounts.TableSize * 8);
        if (ret < 0)
        {
            return ret;
        }
        ret = CheckCryptoRefcounts(ref res, table);
        if (ret < 0)
        {
            return ret;
        }
        ret = CheckBitmapsRefcounts(ref res, table);
        if (ret < 0)
        {
            return ret;
        }
        return CheckRefblocks(ref res, fix, ref rebuild, table);
    }

    /// <summary>compare_refcounts: reports (and with fix, repairs) every cluster whose on-disk refcount differs from its references.</summary>
    private void CompareRefcounts(ref CheckTally res, CheckRepair fix, ref bool rebuild, out long highestCluster, RefcountArray table)
    {
        highestCluster = 0;
        for (long i = 0; i < table.Size; i++)
        {
            ulong refcount1;
            try
            {
                refcount1 = GetRefcount(i);
            }
            catch (BlockIOException e)
            {
                CheckPrint($"Can't get refcount for cluster {i}: {ErrnoText.Of(e.Errno)}");
                res.CheckErrors++;
                continue;
            }
            ulong refcount2 = table.Get(i);
            if (refcount1 > 0 || refcount2 > 0)
            {
                highestCluster = i;
            }
            if (refcount1 == refcount2)
            {
                continue;
            }
            int fixKind = 0; // 1: a leak fix, 2: a corruption fix
            if (refcount1 == 0)
            {
                rebuild = true;
            }
            else if (refcount1 > refcount2 && (fix & CheckRepair.Leaks) != 0)
            {
                fixKind = 1;
            }
            else if (refcount1 < refcount2 && (fix & CheckRepair.Errors) != 0)
            {
                fixKind = 2;
            }
            string what = fixKind != 0 ? "Repairing" : refcount1 < refcount2 ? "ERROR" : "Leaked";
            CheckPrint($"{what} cluster {i} refcount={refcount1} reference={refcount2}");
            if (fixKind != 0)
            {
                ulong diff = refcount1 > refcount2 ? refcount1 - refcount2 : refcount2 - refcount1;
                long at = i << _clusterBits;
                bool decrease = refcount1 > refcount2;
                if (Guard(() => UpdateRefcount(at, 1, diff, decrease, DiscardType.Always)) >= 0)
                {
                    if (fixKind == 1)
                    {
                        res.LeaksFixed++;
                    }
                    else
                    {
                        res.CorruptionsFixed++;
                    }
                    continue;
                }
            }
            if (refcount1 < refcount2)
            {
                res.Corruptions++;
            }
            else
            {
                res.Leaks++;
            }
        }
    }

    /// <summary>qcow2_check_refcounts: the refcount half of a check, with the repair and rebuild logic.</summary>
    private int CheckRefcounts(ref CheckTally res, CheckRepair fix)
    {
        long size = _file.Length;
        long nbClusters = SizeToClusters(size);
        if (nbClusters > int.MaxValue)
        {
            res.CheckErrors++;
            return Neg(Errno.EFBIG);
        }
        res.TotalClusters = SizeToClusters(RoundUp(Size, 512));

        var table = new RefcountArray(this);
        bool rebuild = false;
        int ret = CalculateRefcounts(ref res, fix, ref rebuild, table, nbClusters);
        if (ret < 0)
        {
            return ret;
        }

        // When repairing without a rebuild, the comparison is run again with fixes; this first result is then dropped.
        var preCompare = res;
        CompareRefcounts(ref res, CheckRepair.None, ref rebuild, out long highestCluster, table);

        if (rebuild && (fix & CheckRepair.Errors) != 0)
        {
            ret = RebuildAndRecount(ref res, fix, table, ref highestCluster);
            if (ret < 0)
            {
                return ret;
            }
        }
        else if (fix != CheckRepair.None)
        {
            if (rebuild)
            {
                CheckPrint("ERROR need to rebuild refcount structures");
                res.CheckErrors++;
                return Neg(Errno.EIO);
            }
            if (res.Leaks != 0 || res.Corruptions != 0)
            {
                res = preCompare;
                CompareRefcounts(ref res, fix, ref rebuild, out highestCluster, table);
            }
        }

        ret = CheckOflagCopied(ref res, fix);
        if (ret < 0)
        {
            return ret;
        }
        res.ImageEndOffset = (highestCluster + 1) * _clusterSize;
        return 0;
    }

    /// <summary>
    /// qcow2_check_refcounts' rebuild: writes new refcount structures, counts the references again and, with leak
    /// repair, frees what the rebuild left leaked; the tally keeps what was fixed. 0, or a negative errno.
    /// </summary>
    private int RebuildAndRecount(ref CheckTally res, CheckRepair fix, RefcountArray table, ref long highestCluster)
    {
        var oldRes = res;
        long freshLeaks = 0;
        CheckPrint("Rebuilding refcount structure");
        int ret = RebuildRefcountStructure(ref res, table, out string? error);
        if (ret < 0)
        {
            CheckReport(error!);
            return ret;
        }
        res.Corruptions = 0;
        res.Leaks = 0;

        // The refcount table was exchanged, so the references must be counted again.
        bool rebuild = false;
        table.Clear();
        ret = CalculateRefcounts(ref res, CheckRepair.None, ref rebuild, table, table.Size);
        if (ret < 0)
        {
            return ret;
        }
        if ((fix & CheckRepair.Leaks) != 0)
        {
            // The old refcount structures are leaked now; only leaks the rebuild itself caused remain.
            var saved = res;
            res = new CheckTally();
            CompareRefcounts(ref res, CheckRepair.Leaks, ref rebuild, out highestCluster, table);
            if (rebuild)
            {
                CheckPrint("ERROR rebuilt refcount structure is still broken");
            }
            freshLeaks = res.Leaks;
            res = saved;
        }
        if (res.Corruptions < oldRes.Corruptions)
        {
            res.CorruptionsFixed += oldRes.Corruptions - res.Corruptions;
        }
        if (res.Leaks < oldRes.Leaks)
        {
            res.LeaksFixed += oldRes.Leaks - res.Leaks;
        }
        res.Leaks += freshLeaks;
        return 0;
    }
}
