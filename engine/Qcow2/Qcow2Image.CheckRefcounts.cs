using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

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
            img.SizeToClusters(((entries << img._refcountOrder) + 7) / 8) * img._clusterSize;

        public ulong Get(long index) => RefcountBlock.Get(Data, index, img._refcountOrder);

        public void Set(long index, ulong value) => RefcountBlock.Set(Data, index, img._refcountOrder, value);

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
            if (refcount == _refcountMax)
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

    /// <summary>fix_l2_entry_by_zero: turns a misaligned preallocated zero cluster into a plain zero cluster on disk.</summary>
    private int FixL2EntryByZero(ref CheckTally res, long l2Offset, byte[] l2Table, int index, bool active, out bool overlap)
    {
        SetEntry(l2Table, index, L2Entry.Zero);
        long at = l2Offset + (long)index * L2Entry.Size;
        int ret = Guard(() => PreWriteOverlapCheck(active ? OverlapTypes.ActiveL2 : OverlapTypes.InactiveL2, at, L2Entry.Size));
        overlap = ret < 0;
        if (ret < 0)
        {
            CheckPrint("ERROR: Overlap check failed");
            res.CheckErrors++;
            return ret;
        }
        ret = Guard(() =>
        {
            _file.Write(at, l2Table.AsSpan(index * L2Entry.Size, L2Entry.Size));
            _file.Flush();
        });
        if (ret < 0)
        {
            CheckPrint($"ERROR: Failed to overwrite L2 table entry: {StrError(ret)}");
            res.CheckErrors++;
            return ret;
        }
        res.Corruptions--;
        res.CorruptionsFixed++;
        return 0;
    }

    /// <summary>check_refcounts_l2: counts the clusters an L2 table references and checks its entries.</summary>
    private int CheckRefcountsL2(ref CheckTally res, RefcountArray table, long l2Offset, bool fragInfo, CheckRepair fix, bool active)
    {
        var l2 = ReadFile(l2Offset, _clusterSize);
        long nextContiguous = 0;
        for (int i = 0; i < _l2Size; i++)
        {
            ulong raw = GetEntry(l2, i);
            var entry = new L2Entry(raw);
            var type = entry.Type;
            if (type != ClusterType.Compressed && (raw & L2Entry.StdReservedMask) != 0)
            {
                CheckPrint($"ERROR found l2 entry with reserved bits set: {raw:x}");
                res.Corruptions++;
            }
            switch (type)
            {
                case ClusterType.Compressed:
                {
                    if (entry.IsCopied)
                    {
                        CheckPrint($"ERROR: coffset=0x{entry.CompressedOffset(_clusterBits):x}: copied flag must never be set for compressed clusters");
                        entry = new L2Entry(raw & ~L2Entry.Copied);
                        res.Corruptions++;
                    }
                    int ret = IncRefcounts(ref res, table, entry.CompressedOffset(_clusterBits), entry.CompressedSize(_clusterBits));
                    if (ret < 0)
                    {
                        return ret;
                    }
                    if (fragInfo)
                    {
                        res.AllocatedClusters++;
                        res.CompressedClusters++;
                        // Compressed clusters share sectors, so they always count as fragmented.
                        res.FragmentedClusters++;
                    }
                    break;
                }
                case ClusterType.ZeroAlloc:
                case ClusterType.Normal:
                {
                    long offset = entry.HostOffset;
                    if (OffsetIntoCluster(offset) != 0)
                    {
                        res.Corruptions++;
                        bool containsData = (raw & L2Entry.Zero) == 0;
                        if (!containsData)
                        {
                            bool repair = (fix & CheckRepair.Errors) != 0;
                            CheckPrint($"{(repair ? "Repairing" : "ERROR")} offset={offset:x}: Preallocated cluster is not properly aligned; L2 entry corrupted.");
                            if (repair)
                            {
                                int fixRet = FixL2EntryByZero(ref res, l2Offset, l2, i, active, out bool overlap);
                                if (overlap)
                                {
                                    return fixRet;
                                }
                                if (fixRet == 0)
                                {
                                    continue;
                                }
                            }
                        }
                        else
                        {
                            CheckPrint($"ERROR offset={offset:x}: Data cluster is not properly aligned; L2 entry corrupted.");
                        }
                    }
                    if (fragInfo)
                    {
                        res.AllocatedClusters++;
                        if (nextContiguous != 0 && offset != nextContiguous)
                        {
                            res.FragmentedClusters++;
                        }
                        nextContiguous = offset + _clusterSize;
                    }
                    int incRet = IncRefcounts(ref res, table, offset, _clusterSize);
                    if (incRet < 0)
                    {
                        return incRet;
                    }
                    break;
                }
            }
        }
        return 0;
    }

    /// <summary>check_refcounts_l1: counts an L1 table, its L2 tables and everything they reference.</summary>
    private int CheckRefcountsL1(ref CheckTally res, RefcountArray table, long l1Offset, long l1Size, bool fragInfo, CheckRepair fix, bool active)
    {
        if (l1Size == 0)
        {
            return 0;
        }
        long l1Bytes = l1Size * L1Entry.Size;
        int ret = IncRefcounts(ref res, table, l1Offset, l1Bytes);
        if (ret < 0)
        {
            return ret;
        }
        // A pooled buffer: a 64 TiB image's snapshot L1 tables are 1 MiB each, one after the other.
        byte[] l1 = System.Buffers.ArrayPool<byte>.Shared.Rent((int)l1Bytes);
        try
        {
            try
            {
                _file.Read(l1Offset, l1.AsSpan(0, (int)l1Bytes));
            }
            catch (BlockIOException e)
            {
                CheckPrint("ERROR: I/O error in check_refcounts_l1");
                res.CheckErrors++;
                return Neg(e.Errno);
            }
            return CheckRefcountsL1Entries(ref res, table, l1, l1Size, fragInfo, fix, active);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(l1);
        }
    }

    /// <summary>The entries of check_refcounts_l1's table: each L2 table counted and checked.</summary>
    private int CheckRefcountsL1Entries(ref CheckTally res, RefcountArray table, byte[] l1, long l1Size, bool fragInfo, CheckRepair fix, bool active)
    {
        int ret;
        for (int i = 0; i < l1Size; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(l1.AsSpan(i * L1Entry.Size));
            if (e == 0)
            {
                continue;
            }
            if ((e & L1Entry.ReservedMask) != 0)
            {
                CheckPrint($"ERROR found L1 entry with reserved bits set: {e:x}");
                res.Corruptions++;
            }
            long l2Offset = (long)(e & L1Entry.OffsetMask);
            ret = IncRefcounts(ref res, table, l2Offset, _clusterSize);
            if (ret < 0)
            {
                return ret;
            }
            if (OffsetIntoCluster(l2Offset) != 0)
            {
                CheckPrint($"ERROR l2_offset={l2Offset:x}: Table is not cluster aligned; L1 entry corrupted");
                res.Corruptions++;
            }
            ret = CheckRefcountsL2(ref res, table, l2Offset, fragInfo, fix, active);
            if (ret < 0)
            {
                return ret;
            }
        }
        return 0;
    }

    /// <summary>check_oflag_copied: COPIED must be set on active L1 and L2 entries exactly when the refcount is 1.</summary>
    private int CheckOflagCopied(ref CheckTally res, CheckRepair fix)
    {
        bool repair = (fix & CheckRepair.Errors) != 0
            || ((fix & CheckRepair.Leaks) != 0 && res.CheckErrors == 0 && res.Corruptions == 0 && res.Leaks == 0);
        for (int i = 0; i < _l1Size; i++)
        {
            ulong l1Entry = _l1Table[i];
            long l2Offset = (long)(l1Entry & L1Entry.OffsetMask);
            if (l2Offset == 0)
            {
                continue;
            }
            if (!TryGetRefcount(l2Offset >> _clusterBits, out ulong refcount))
            {
                continue;
            }
            if ((refcount == 1) != ((l1Entry & L1Entry.Copied) != 0))
            {
                res.Corruptions++;
                CheckPrint($"{(repair ? "Repairing" : "ERROR")} OFLAG_COPIED L2 cluster: l1_index={i} l1_entry={l1Entry:x} refcount={refcount}");
                if (repair)
                {
                    _l1Table[i] = refcount == 1 ? l1Entry | L1Entry.Copied : l1Entry & ~L1Entry.Copied;
                    int index = i;
                    int wret = Guard(() => WriteL1Entry(index));
                    if (wret < 0)
                    {
                        res.CheckErrors++;
                        return wret;
                    }
                    res.Corruptions--;
                    res.CorruptionsFixed++;
                }
            }

            var l2 = ReadFile(l2Offset, _clusterSize);
            int dirty = 0;
            for (int j = 0; j < _l2Size; j++)
            {
                ulong raw = GetEntry(l2, j);
                var type = new L2Entry(raw).Type;
                if (type is not (ClusterType.Normal or ClusterType.ZeroAlloc))
                {
                    continue;
                }
                if (!TryGetRefcount((long)(raw & L2Entry.OffsetMask) >> _clusterBits, out refcount))
                {
                    continue;
                }
                if ((refcount == 1) != ((raw & L2Entry.Copied) != 0))
                {
                    res.Corruptions++;
                    CheckPrint($"{(repair ? "Repairing" : "ERROR")} OFLAG_COPIED data cluster: l2_entry={raw:x} refcount={refcount}");
                    if (repair)
                    {
                        SetEntry(l2, j, refcount == 1 ? raw | L2Entry.Copied : raw & ~L2Entry.Copied);
                        dirty++;
                    }
                }
            }
            if (dirty > 0)
            {
                int ret = Guard(() => PreWriteOverlapCheck(OverlapTypes.ActiveL2, l2Offset, _clusterSize));
                if (ret < 0)
                {
                    CheckPrint($"ERROR: Could not write L2 table; metadata overlap check failed: {StrError(ret)}");
                    res.CheckErrors++;
                    return ret;
                }
                ret = Guard(() => _file.Write(l2Offset, l2));
                if (ret < 0)
                {
                    CheckPrint($"ERROR: Could not write L2 table: {StrError(ret)}");
                    res.CheckErrors++;
                    return ret;
                }
                res.Corruptions -= dirty;
                res.CorruptionsFixed += dirty;
            }
        }
        return 0;
    }

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
        for (long i = 0; i < _refcountTableSize; i++)
        {
            long offset = (long)(_refcountTable[i] & RefcountTableEntryOffsetMask);
            long cluster = (long)((ulong)offset >> _clusterBits);
            if ((_refcountTable[i] & RefcountTableEntryReservedMask) != 0)
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
                    int ret;
                    if ((ulong)offset > (ulong)(long.MaxValue - _clusterSize))
                    {
                        ret = Neg(Errno.EINVAL);
                    }
                    else if (offset + _clusterSize > Storage.StorageRequest.MaxLength)
                    {
                        // bdrv_co_truncate's bdrv_check_request refuses the new length before the file driver sees it.
                        CheckReport($"offset({offset + _clusterSize}) exceeds maximum({Storage.StorageRequest.MaxLength})");
                        ret = Neg(Errno.EIO);
                    }
                    else
                    {
                        ret = Guard(() => _file.SetLength(offset + _clusterSize));
                        if (ret != 0)
                        {
                            // The file driver's error_report_err: "Could not resize file: <strerror>".
                            CheckReport($"Could not resize file: {StrError(ret)}");
                        }
                        if (ret == 0)
                        {
                            long newNb = SizeToClusters(_file.Length);
                            try
                            {
                                table.Resize(newNb);
                            }
                            catch (BlockIOException e)
                            {
                                res.CheckErrors++;
                                return Neg(e.Errno);
                            }
                            if (cluster >= table.Size)
                            {
                                ret = Neg(Errno.EINVAL);
                            }
                        }
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
        ret = IncRefcounts(ref res, table, _snapshotsOffset, _snapshotsSize);
        if (ret < 0)
        {
            return ret;
        }
        ret = IncRefcounts(ref res, table, _refcountTableOffset, _refcountTableSize * 8);
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
            var oldRes = res;
            long freshLeaks = 0;
            CheckPrint("Rebuilding refcount structure");
            ret = RebuildRefcountStructure(ref res, table, out string? error);
            if (ret < 0)
            {
                CheckReport(error!);
                return ret;
            }
            res.Corruptions = 0;
            res.Leaks = 0;

            // The refcount table was exchanged, so the references must be counted again.
            rebuild = false;
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
}
