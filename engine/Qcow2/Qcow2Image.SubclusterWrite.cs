using Qcow2.Format;

namespace Qcow2;

/// <summary>Allocating writes with extended L2 entries: only the subclusters a write touches are filled (qcow2-cluster.c).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// calculate_l2_meta with subclusters: the COW regions stop at the subclusters that hold nothing (unallocated or
    /// zero) instead of the cluster boundaries, and a write covering only allocated subclusters in place needs none.
    /// </summary>
    private void CalculateL2MetaExtended(long hostClusterOffset, long guestOffset, long bytes, byte[] table, int index, bool keepOld, List<L2Meta> metas)
    {
        long cowStartTo = OffsetIntoCluster(guestOffset);
        long cowEndFrom = cowStartTo + bytes;
        int nbClusters = (int)SizeToClusters(cowEndFrom);
        bool skipCow = keepOld;
        for (int i = 0; i < nbClusters; i++)
        {
            ulong entry = GetEntry(table, index + i), bitmap = GetBitmap(table, index + i);
            SubclusterType type;
            if (skipCow)
            {
                long from = Math.Max(cowStartTo, (long)i << _clusterBits), to = Math.Min(cowEndFrom, (long)(i + 1) << _clusterBits);
                int firstSc = ScIndex(from), lastSc = ScIndex(to - 1);
                int cnt = SubclusterRange(entry, bitmap, firstSc, out type);
                if (type != SubclusterType.Normal || firstSc + cnt <= lastSc)
                {
                    skipCow = false;
                }
            }
            else
            {
                type = SubclusterBitmap.TypeOf(ExtendedTypeOf(entry), bitmap, 0);
            }
            if (type == SubclusterType.Invalid)
            {
                long l2Offset = (long)(_l1Table[L1Index(guestOffset)] & L1Entry.OffsetMask);
                SignalCorruption(true, -1, -1, $"Invalid cluster entry found (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(index + i)})");
                throw new BlockIOException(Errno.EIO);
            }
        }
        if (skipCow)
        {
            return;
        }
        long cowStartFrom = CowStartFrom(table, index, guestOffset, cowStartTo, keepOld);
        long cowEndTo = CowEndTo(table, index + nbClusters - 1, guestOffset + bytes - 1, cowEndFrom, keepOld);
        metas.Add(NewL2Meta(hostClusterOffset, guestOffset, nbClusters, keepOld, (cowStartFrom, cowStartTo), (cowEndFrom, cowEndTo)));
    }

    /// <summary>Where the head COW region starts in the first cluster: leading subclusters without data are skipped.</summary>
    private long CowStartFrom(byte[] table, int index, long guestOffset, long cowStartTo, bool keepOld)
    {
        int sc = ScIndex(guestOffset);
        ulong bitmap = GetBitmap(table, index);
        var type = SubclusterTypeAt(table, index, sc);
        return (type, keepOld) switch
        {
            (SubclusterType.Compressed, false) => 0,
            (SubclusterType.Normal or SubclusterType.ZeroAlloc or SubclusterType.UnallocatedAlloc, false) =>
                (long)Math.Min(sc, System.Numerics.BitOperations.TrailingZeroCount((uint)bitmap)) << SubclusterBits,
            (SubclusterType.Normal, true) => cowStartTo,
            _ => (long)sc << SubclusterBits,
        };
    }

    /// <summary>Where the tail COW region ends in the last cluster: trailing subclusters without data are skipped.</summary>
    private long CowEndTo(byte[] table, int index, long lastByte, long cowEndFrom, bool keepOld)
    {
        int sc = ScIndex(lastByte);
        ulong bitmap = GetBitmap(table, index);
        var type = SubclusterTypeAt(table, index, sc);
        switch (type, keepOld)
        {
            case (SubclusterType.Compressed, false):
                return RoundUp(cowEndFrom, _clusterSize);
            case (SubclusterType.Normal or SubclusterType.ZeroAlloc or SubclusterType.UnallocatedAlloc, false):
                int skip = Math.Min(SubclusterBitmap.Count - sc - 1, System.Numerics.BitOperations.LeadingZeroCount((uint)bitmap));
                return RoundUp(cowEndFrom, _clusterSize) - ((long)skip << SubclusterBits);
            case (SubclusterType.Normal, true):
                return cowEndFrom;
            default:
                return RoundUp(cowEndFrom, SubclusterSize);
        }
    }

    /// <summary>qcow2_alloc_cluster_link_l2: the subclusters just written (data and COW) become allocated, not zero.</summary>
    private void MarkWrittenSubclusters(byte[] table, int index, int i, L2Meta m)
    {
        long from = Math.Max(m.CowStartOffset, (long)i << _clusterBits);
        long to = Math.Min(m.CowEndOffset + m.CowEndBytes, (long)(i + 1) << _clusterBits);
        int first = ScIndex(from), last = ScIndex(to - 1);
        ulong bitmap = GetBitmap(table, index);
        bitmap |= SubclusterBitmap.AllocRange(first, last - first + 1);
        bitmap &= ~SubclusterBitmap.ZeroRange(first, last - first + 1);
        SetBitmap(table, index, bitmap);
    }

    /// <summary>
    /// qcow2_subcluster_zeroize for extended entries: whole clusters get an all-zero bitmap, a partial head and tail
    /// their subclusters marked zero. False where QEMU answers ENOTSUP (part of a compressed cluster).
    /// </summary>
    private bool SubclusterZeroize(long offset, long bytes, bool mayUnmap)
    {
        long end = offset + bytes;
        long head = Math.Min(end, RoundUp(offset, _clusterSize)) - offset;
        offset += head;
        long tail = end >= Size ? 0 : end - Math.Max(offset, StartOfCluster(end));
        end -= tail;
        bool ok = true;
        WithCachedDiscards(() =>
        {
            if (head != 0 && !ZeroL2Subclusters(offset - head, head))
            {
                ok = false;
                return;
            }
            long nbClusters = SizeToClusters(end - offset);
            while (nbClusters > 0)
            {
                long cleared = ZeroInL2Slice(offset, nbClusters, mayUnmap);
                nbClusters -= cleared;
                offset += cleared * _clusterSize;
            }
            if (tail != 0)
            {
                ok = ZeroL2Subclusters(end, tail);
            }
        });
        return ok;
    }

    /// <summary>zero_l2_subclusters: marks the subclusters of part of one cluster as zero; false for a compressed cluster.</summary>
    private bool ZeroL2Subclusters(long offset, long bytes)
    {
        int sc = ScIndex(offset), count = (int)((bytes + SubclusterSize - 1) >> SubclusterBits);
        var (l2Offset, table, index) = GetClusterTable(offset);
        if (ExtendedTypeOf(GetEntry(table, index)) == ClusterType.Compressed)
        {
            return false;
        }
        ulong old = GetBitmap(table, index);
        ulong bitmap = (old | SubclusterBitmap.ZeroRange(sc, count)) & ~SubclusterBitmap.AllocRange(sc, count);
        if (bitmap != old)
        {
            SetBitmap(table, index, bitmap);
            _l2Cache.MarkDirty(l2Offset);
        }
        return true;
    }
}
