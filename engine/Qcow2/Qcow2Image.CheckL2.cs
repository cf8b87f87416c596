using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>fix_l2_entry_by_zero: turns a misaligned preallocated zero cluster into a plain zero cluster on disk.</summary>
    private int FixL2EntryByZero(ref CheckTally res, long l2Offset, byte[] l2Table, int index, bool active, out bool overlap)
    {
        if (ExtendedL2)
        {
            // Allocated subclusters become zero subclusters, and the entry loses its host cluster.
            ulong bitmap = GetBitmap(l2Table, index);
            SetBitmap(l2Table, index, (bitmap | (bitmap << 32)) & SubclusterBitmap.AllZeroes);
            SetEntry(l2Table, index, 0);
        }
        else
        {
            SetEntry(l2Table, index, L2Entry.Zero);
        }
        long at = l2Offset + (long)index * _l2EntrySize;
        int ret = Guard(() => PreWriteOverlapCheck(active ? OverlapTypes.ActiveL2 : OverlapTypes.InactiveL2, at, _l2EntrySize));
        overlap = ret < 0;
        if (ret < 0)
        {
            CheckPrint("ERROR: Overlap check failed");
            res.CheckErrors++;
            return ret;
        }
        ret = Guard(() =>
        {
            _file.Write(at, l2Table.AsSpan(index * _l2EntrySize, _l2EntrySize));
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
        var l2 = ReadCheckL2(l2Offset);
        long nextContiguous = 0;
        for (int i = 0; i < _l2Size; i++)
        {
            ulong raw = GetEntry(l2, i);
            var entry = new L2Entry(raw);
            var type = ExtendedL2 ? ExtendedTypeOf(raw) : TypeOf(raw);
            if (type != ClusterType.Compressed && (raw & L2Entry.StdReservedMask) != 0)
            {
                CheckPrint($"ERROR found l2 entry with reserved bits set: {raw:x}");
                res.Corruptions++;
            }
            if (ExtendedL2 && !CheckSubclusterBitmap(ref res, type, raw, GetBitmap(l2, i), i))
            {
                continue;
            }
            switch (type)
            {
                case ClusterType.Compressed:
                {
                    int ret = CheckCompressedL2Entry(ref res, table, entry, fragInfo);
                    if (ret < 0)
                    {
                        return ret;
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
                    // check_refcounts_l2: data clusters in an external data file are not refcounted.
                    int incRet = HasDataFile ? 0 : IncRefcounts(ref res, table, offset, _clusterSize);
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

    /// <summary>check_refcounts_l2's checks of a subcluster bitmap; false when the entry is not counted (compressed).</summary>
    private bool CheckSubclusterBitmap(ref CheckTally res, ClusterType type, ulong raw, ulong bitmap, int index)
    {
        switch (type)
        {
            case ClusterType.Compressed when bitmap != 0:
                if (new L2Entry(raw).IsCopied)
                {
                    CheckPrint($"ERROR: coffset=0x{new L2Entry(raw).CompressedOffset(_clusterBits):x}: copied flag must never be set for compressed clusters");
                    res.Corruptions++;
                }
                // QEMU prints the entry as it is after dropping a wrong COPIED flag.
                CheckPrint($"ERROR compressed cluster {index} with non-zero subcluster allocation bitmap, entry=0x{raw & ~L2Entry.Copied:x}");
                res.Corruptions++;
                return false;
            case ClusterType.Normal when ((bitmap >> 32) & bitmap) != 0:
                res.Corruptions++;
                CheckPrint($"ERROR offset={raw & L2Entry.OffsetMask:x}: Allocated cluster has corrupted subcluster allocation bitmap");
                return true;
            case ClusterType.Unallocated when (bitmap & SubclusterBitmap.AllAlloc) != 0:
                res.Corruptions++;
                CheckPrint("ERROR: Unallocated cluster has non-zero subcluster allocation map");
                return true;
            default:
                return true;
        }
    }

    /// <summary>check_refcounts_l2 for a compressed cluster: COPIED must not be set; counts the sectors it uses.</summary>
    private int CheckCompressedL2Entry(ref CheckTally res, RefcountArray table, L2Entry entry, bool fragInfo)
    {
        if (entry.IsCopied)
        {
            CheckPrint($"ERROR: coffset=0x{entry.CompressedOffset(_clusterBits):x}: copied flag must never be set for compressed clusters");
            entry = new L2Entry(entry.Raw & ~L2Entry.Copied);
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

            var l2 = ReadCheckL2(l2Offset);
            int dirty = 0;
            for (int j = 0; j < _l2Size; j++)
            {
                ulong raw = GetEntry(l2, j);
                var type = TypeOf(raw);
                if (type is not (ClusterType.Normal or ClusterType.ZeroAlloc))
                {
                    continue;
                }
                if (HasDataFile)
                {
                    // check_oflag_copied: a data cluster in a data file counts as referenced once.
                    refcount = 1;
                }
                else if (!TryGetRefcount((long)(raw & L2Entry.OffsetMask) >> _clusterBits, out refcount))
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
                int ret = WriteRepairedL2(ref res, l2Offset, l2, dirty);
                if (ret < 0)
                {
                    return ret;
                }
            }
        }
        return 0;
    }

    /// <summary>Writes an active L2 table whose COPIED flags the check repaired, and counts the repairs as fixed.</summary>
    private int WriteRepairedL2(ref CheckTally res, long l2Offset, byte[] l2, int dirty)
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
        return 0;
    }
}
