using System.Buffers;
using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>A pending cluster allocation to link into an L2 table once the data is written (QEMU's QCowL2Meta).</summary>
    private sealed class L2Meta
    {
        public long AllocOffset;
        public long GuestOffset;
        public int NbClusters;
        public bool KeepOldClusters;
        public bool SkipCow;
        public long CowStartOffset;
        public long CowStartBytes;
        public long CowEndOffset;
        public long CowEndBytes;
        public bool Prealloc;
    }

    private const long InvalidOffset = -1;

    private int L1Index(long guestOffset) => (int)(guestOffset >> (_l2Bits + _clusterBits));

    private int L2Index(long guestOffset) => (int)((guestOffset >> _clusterBits) & (_l2Size - 1));

    private ulong GetEntry(byte[] table, int index) => BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(index * _l2EntrySize));

    private void SetEntry(byte[] table, int index, ulong value) => BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(index * _l2EntrySize), value);

    /// <summary>The writable L2 table for a guest offset, allocating or copying it first (get_cluster_table).</summary>
    private (long L2Offset, byte[] Table, int Index) GetClusterTable(long guestOffset)
    {
        int l1Index = L1Index(guestOffset);
        if (l1Index >= _l1Size)
        {
            GrowL1Table(l1Index + 1, false);
        }
        long l2Offset = (long)(_l1Table[l1Index] & L1Entry.OffsetMask);
        if (OffsetIntoCluster(l2Offset) != 0)
        {
            SignalCorruption(true, -1, -1, $"L2 table offset {Hex(l2Offset)} unaligned (L1 index: {Hex(l1Index)})");
            throw new BlockIOException(Errno.EIO);
        }
        if ((_l1Table[l1Index] & L1Entry.Copied) == 0)
        {
            L2Allocate(l1Index);
            if (l2Offset != 0)
            {
                _tracker.Remove(l2Offset, _clusterSize, OverlapTypes.ActiveL2);
                FreeClusters(l2Offset, _clusterSize, DiscardType.Other);
            }
            l2Offset = (long)(_l1Table[l1Index] & L1Entry.OffsetMask);
        }
        return (l2Offset, _l2Cache.Get(l2Offset), L2Index(guestOffset));
    }

    /// <summary>Whether a write to a cluster with this entry must allocate a new cluster (cluster_needs_new_alloc).</summary>
    private bool NeedsNewAlloc(ulong entry)
    {
        var e = new L2Entry(entry);
        return TypeOf(entry) switch
        {
            ClusterType.Normal or ClusterType.ZeroAlloc => !e.IsCopied,
            _ => true,
        };
    }

    /// <summary>How many clusters from index share the new-allocation need (count_single_write_clusters).</summary>
    private int CountSingleWriteClusters(byte[] table, int index, int nbClusters, bool newAlloc)
    {
        long expected = (long)(GetEntry(table, index) & L2Entry.OffsetMask);
        int i;
        for (i = 0; i < nbClusters; i++)
        {
            ulong entry = GetEntry(table, index + i);
            if (NeedsNewAlloc(entry) != newAlloc)
            {
                break;
            }
            if (!newAlloc)
            {
                if (expected != (long)(entry & L2Entry.OffsetMask))
                {
                    break;
                }
                expected += _clusterSize;
            }
        }
        return i;
    }

    /// <summary>
    /// Finds or allocates host clusters for a guest write of up to bytes (qcow2_alloc_host_offset): contiguous COPIED
    /// clusters are reused, everything else allocated; bytes is cut to what one contiguous host range covers.
    /// </summary>
    private long AllocHostOffset(long offset, ref long bytes, List<L2Meta> metas)
    {
        long start = offset, remaining = bytes, clusterOffset = InvalidOffset, hostOffset = InvalidOffset, curBytes = 0;
        while (true)
        {
            if (hostOffset == InvalidOffset && clusterOffset != InvalidOffset)
            {
                hostOffset = clusterOffset;
            }
            start += curBytes;
            remaining -= curBytes;
            if (clusterOffset != InvalidOffset)
            {
                clusterOffset += curBytes;
            }
            if (remaining == 0)
            {
                break;
            }
            curBytes = remaining;
            if (HandleCopied(start, ref clusterOffset, ref curBytes, metas))
            {
                continue;
            }
            if (curBytes == 0)
            {
                break;
            }
            if (HandleAlloc(start, ref clusterOffset, ref curBytes, metas))
            {
                continue;
            }
            break;
        }
        bytes -= remaining;
        return hostOffset;
    }

    private bool HandleCopied(long guestOffset, ref long hostOffset, ref long bytes, List<L2Meta> metas)
    {
        int nbClusters = (int)Math.Min(SizeToClusters(OffsetIntoCluster(guestOffset) + bytes), int.MaxValue);
        nbClusters = Math.Min(nbClusters, _l2Size - L2Index(guestOffset));
        var (_, table, index) = GetClusterTable(guestOffset);
        ulong entry = GetEntry(table, index);
        long clusterOffset = (long)(entry & L2Entry.OffsetMask);
        if (NeedsNewAlloc(entry))
        {
            return false;
        }
        if (OffsetIntoCluster(clusterOffset) != 0)
        {
            string what = (entry & L2Entry.Zero) != 0 ? "Preallocated zero" : "Data";
            SignalCorruption(true, -1, -1, $"{what} cluster offset {Hex(clusterOffset)} unaligned (guest offset: {Hex(guestOffset)})");
            throw new BlockIOException(Errno.EIO);
        }
        if (hostOffset != InvalidOffset && clusterOffset != hostOffset)
        {
            bytes = 0;
            return false;
        }
        int keep = CountSingleWriteClusters(table, index, nbClusters, false);
        bytes = Math.Min(bytes, (long)keep * _clusterSize - OffsetIntoCluster(guestOffset));
        // A preallocated zero cluster written in place still needs its unwritten parts zeroed and its zero flag cleared.
        CalculateL2Meta(clusterOffset, guestOffset, bytes, table, index, keepOld: true, metas);
        hostOffset = clusterOffset + OffsetIntoCluster(guestOffset);
        return true;
    }

    private bool HandleAlloc(long guestOffset, ref long hostOffset, ref long bytes, List<L2Meta> metas)
    {
        long nb = SizeToClusters(OffsetIntoCluster(guestOffset) + bytes);
        int nbClusters = (int)Math.Min(nb, _l2Size - L2Index(guestOffset));
        nbClusters = (int)Math.Min(nbClusters, (long)int.MaxValue >> _clusterBits);
        var (_, table, index) = GetClusterTable(guestOffset);
        nbClusters = CountSingleWriteClusters(table, index, nbClusters, true);
        long allocOffset;
        if (HasDataFile)
        {
            // The data file holds each cluster at its guest offset; nothing is allocated in the qcow2 file.
            allocOffset = StartOfCluster(guestOffset);
            if (hostOffset != InvalidOffset && StartOfCluster(hostOffset) != allocOffset)
            {
                bytes = 0;
                return false;
            }
        }
        else if (hostOffset == InvalidOffset)
        {
            allocOffset = AllocClusters((long)nbClusters * _clusterSize);
        }
        else
        {
            allocOffset = StartOfCluster(hostOffset);
            nbClusters = (int)AllocClustersAt(allocOffset, nbClusters);
            if (nbClusters == 0)
            {
                bytes = 0;
                return false;
            }
        }
        long requested = bytes + OffsetIntoCluster(guestOffset);
        long avail = (long)nbClusters << _clusterBits;
        long nbBytes = Math.Min(requested, avail);
        hostOffset = allocOffset + OffsetIntoCluster(guestOffset);
        bytes = Math.Min(bytes, nbBytes - OffsetIntoCluster(guestOffset));
        // The table may have been evicted or moved by the allocation; look it up again.
        var (_, table2, index2) = GetClusterTable(guestOffset);
        CalculateL2Meta(allocOffset, guestOffset, bytes, table2, index2, keepOld: false, metas);
        return true;
    }

    /// <summary>Records what a write must copy and link (calculate_l2_meta, for clusters without subclusters).</summary>
    private void CalculateL2Meta(long hostClusterOffset, long guestOffset, long bytes, byte[] table, int index, bool keepOld, List<L2Meta> metas)
    {
        if (ExtendedL2)
        {
            CalculateL2MetaExtended(hostClusterOffset, guestOffset, bytes, table, index, keepOld, metas);
            return;
        }
        long cowStartTo = OffsetIntoCluster(guestOffset);
        long cowEndFrom = cowStartTo + bytes;
        int nbClusters = (int)SizeToClusters(cowEndFrom);
        bool skipCow = keepOld;
        if (skipCow)
        {
            for (int i = 0; i < nbClusters; i++)
            {
                if (TypeOf(GetEntry(table, index + i)) != ClusterType.Normal)
                {
                    skipCow = false;
                }
            }
        }
        if (skipCow)
        {
            return;
        }
        var firstType = TypeOf(GetEntry(table, index));
        var lastType = TypeOf(GetEntry(table, index + nbClusters - 1));
        long cowStartFrom = keepOld && firstType == ClusterType.Normal ? cowStartTo : 0;
        long cowEndTo = keepOld && lastType == ClusterType.Normal ? cowEndFrom : RoundUp(cowEndFrom, _clusterSize);
        metas.Add(NewL2Meta(hostClusterOffset, guestOffset, nbClusters, keepOld, (cowStartFrom, cowStartTo), (cowEndFrom, cowEndTo)));
    }

    /// <summary>The QCowL2Meta of calculate_l2_meta: the clusters to link and the two COW regions as [from, to) in the first and last cluster.</summary>
    private L2Meta NewL2Meta(long hostClusterOffset, long guestOffset, int nbClusters, bool keepOld, (long From, long To) cowStart, (long From, long To) cowEnd) => new()
    {
        AllocOffset = hostClusterOffset,
        GuestOffset = StartOfCluster(guestOffset),
        NbClusters = nbClusters,
        KeepOldClusters = keepOld,
        CowStartOffset = cowStart.From,
        CowStartBytes = cowStart.To - cowStart.From,
        CowEndOffset = cowEnd.From,
        CowEndBytes = cowEnd.To - cowEnd.From,
    };

    /// <summary>Copies the unwritten parts of newly allocated clusters and links them into the L2 table (qcow2_alloc_cluster_link_l2).</summary>
    private void LinkL2(L2Meta m)
    {
        if (!m.SkipCow)
        {
            PerformCow(m);
        }
        if (UseLazyRefcounts)
        {
            MarkDirty();
        }
        else
        {
            _l2Cache.SetDependency(_refcounts.Cache);
        }
        var (l2Offset, table, index) = GetClusterTable(m.GuestOffset);
        using var held = _l2Cache.Hold(l2Offset);
        _l2Cache.MarkDirty(l2Offset);
        var old = new List<ulong>();
        for (int i = 0; i < m.NbClusters; i++)
        {
            long host = m.AllocOffset + ((long)i << _clusterBits);
            ulong prev = GetEntry(table, index + i);
            if (prev != 0 && !PointsIntoAllocation(prev, m))
            {
                old.Add(prev);
            }
            SetEntry(table, index + i, (ulong)host | L2Entry.Copied);
            if (ExtendedL2 && !m.Prealloc)
            {
                MarkWrittenSubclusters(table, index + i, i, m);
            }
        }
        if (!m.KeepOldClusters)
        {
            foreach (var e in old)
            {
                FreeAnyCluster(e, DiscardType.Never);
            }
        }
    }

    /// <summary>
    /// Whether an entry being replaced points into the clusters just allocated for it. Only a corrupt image does that
    /// (an entry to a cluster whose refcount was 0, which the allocator then handed out), and freeing it would take
    /// the reference the new data holds: the next allocation would overwrite acknowledged data. QEMU frees it anyway
    /// (found by the fuzzer, FUZZ_SEED=3 mutant 40780); we leave it, so the refcount stays that of the new data.
    /// </summary>
    private bool PointsIntoAllocation(ulong entry, L2Meta m)
    {
        var e = new L2Entry(entry);
        long start, length;
        switch (e.Type)
        {
            case ClusterType.Compressed:
                start = e.CompressedOffset(_clusterBits);
                length = e.CompressedSize(_clusterBits);
                break;
            case ClusterType.Normal:
            case ClusterType.ZeroAlloc:
                start = e.HostOffset;
                length = _clusterSize;
                break;
            default:
                return false;
        }
        long end = m.AllocOffset + ((long)m.NbClusters << _clusterBits);
        return start < end && start + length > m.AllocOffset;
    }

    private void PerformCow(L2Meta m)
    {
        if (m.CowStartBytes == 0 && m.CowEndBytes == 0)
        {
            return;
        }
        // Pooled (with 2 MiB clusters each allocating write would otherwise take up to 4 MiB of fresh memory) and
        // cleared, so that no storage's read can leave another request's bytes in them.
        byte[] startRent = ArrayPool<byte>.Shared.Rent((int)m.CowStartBytes), endRent = ArrayPool<byte>.Shared.Rent((int)m.CowEndBytes);
        try
        {
            Span<byte> startBuf = startRent.AsSpan(0, (int)m.CowStartBytes), endBuf = endRent.AsSpan(0, (int)m.CowEndBytes);
            startBuf.Clear();
            endBuf.Clear();
            // do_perform_cow_read: the event, then a check that the image is still usable (a request suspended here
            // resumes into an image that another request may have marked corrupt meanwhile).
            _file.DebugEvent("cow_read");
            CheckUsable();
            if (startBuf.Length > 0)
            {
                ReadGuest(m.GuestOffset + m.CowStartOffset, startBuf);
            }
            if (endBuf.Length > 0)
            {
                ReadGuest(m.GuestOffset + m.CowEndOffset, endBuf);
            }
            _file.DebugEvent("cow_write");
            CheckUsable();
            if (startBuf.Length > 0)
            {
                DataPreWriteOverlapCheck(m.AllocOffset + m.CowStartOffset, startBuf.Length);
                DataStorage.Write(m.AllocOffset + m.CowStartOffset, EncryptData(m.GuestOffset + m.CowStartOffset, m.AllocOffset + m.CowStartOffset, startBuf));
            }
            if (endBuf.Length > 0)
            {
                DataPreWriteOverlapCheck(m.AllocOffset + m.CowEndOffset, endBuf.Length);
                DataStorage.Write(m.AllocOffset + m.CowEndOffset, EncryptData(m.GuestOffset + m.CowEndOffset, m.AllocOffset + m.CowEndOffset, endBuf));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(startRent);
            ArrayPool<byte>.Shared.Return(endRent);
        }
    }
}
