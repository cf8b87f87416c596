using System.Buffers;
using System.Buffers.Binary;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>The header bytes one switch may change: one sector, the unit a disk writes atomically.</summary>
    private const int AtomicHeaderBytes = 512;
    /// <summary>
    /// The intermediate image W1 of a crash-safe commit: the image as it was (W0), with its active L1 table, the active
    /// L2 tables the operation rewrites in place, the refcount table and every refcount block moved to fresh clusters
    /// past the end of the file. In W1 the clusters the operation rewrites are free, so they can be written in any order.
    /// </summary>
    private sealed class CrashSafePlan
    {
        public long Base;                                  // first cluster of the moved structures
        public long L1Offset, L1Size;                      // W0's active L1 table
        public long NewL1Offset;                           // W1's active L1 table (W0's when it does not move)
        public ulong[] L1 = [];                            // W0's active L1 entries
        public readonly Dictionary<long, long> MovedL2 = new();  // W0 L2 table offset -> its copy
        public long ReftableOffset, ReftableClusters;      // W0's refcount table
        public ulong[] Reftable = [];
        public long NewReftableOffset, NewReftableClusters, NewBlocks;
        public ulong[] Refcounts = [];                     // W1's refcounts of the clusters the new blocks cover, up to the last non-zero one
        public int HeaderFrom;                             // where the final switch writes FinalHeader
        public byte[] FinalHeader = [];                    // W2's header bytes from HeaderFrom on (read before W1 exists)
        public readonly List<HeldRequest> DeferredDiscards = new();

        public long BlocksOffset(int clusterBits) => (NewReftableOffset >> clusterBits) + NewReftableClusters;
    }

    /// <summary>
    /// Plans W1 for the held requests, or returns null when they cannot be ordered safely (the requests then go to the
    /// file in their own order, as before): a shrinking file, a live cluster rewritten in place, a header change past the
    /// first sector, refcounts that are already wrong, or a file far larger than the clusters its refcounts describe.
    /// </summary>
    private CrashSafePlan? PlanCrashSafe(OverlayStorage overlay)
    {
        var p = new CrashSafePlan();
        var hdr = ReadFile(0, Header.NbSnapshotsOffset);
        p.L1Size = BinaryPrimitives.ReadUInt32BigEndian(hdr.AsSpan(Header.L1SizeOffset));
        p.L1Offset = (long)BinaryPrimitives.ReadUInt64BigEndian(hdr.AsSpan(Header.L1TableOffsetOffset));
        p.ReftableOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(hdr.AsSpan(Header.RefcountTableOffsetOffset));
        p.ReftableClusters = BinaryPrimitives.ReadUInt32BigEndian(hdr.AsSpan(Header.RefcountTableClustersOffset));
        p.L1 = ReadTable(p.L1Offset, (int)p.L1Size);
        p.Reftable = ReadTable(p.ReftableOffset, (int)(p.ReftableClusters * _clusterSize / 8));
        if (overlay.Requests.Any(r => r.Kind == HeldRequestKind.SetLength && r.Length < _file.Length))
        {
            return null;
        }
        var changed = ChangedClusters(overlay);
        foreach (ulong e in p.L1)
        {
            long l2 = (long)(e & L1Entry.OffsetMask);
            if (l2 != 0 && changed.Contains(l2 >> _clusterBits))
            {
                p.MovedL2[l2] = 0;
            }
        }
        bool moveL1 = p.MovedL2.Count > 0 || Overlaps(changed, p.L1Offset, p.L1Size * 8);
        p.Base = SizeToClusters(Math.Max(_file.Length, overlay.Length));
        long next = p.Base;
        p.NewL1Offset = p.L1Offset;
        if (moveL1)
        {
            p.NewL1Offset = next << _clusterBits;
            next += SizeToClusters(p.L1Size * 8);
        }
        foreach (long l2 in p.MovedL2.Keys.Order().ToList())
        {
            p.MovedL2[l2] = next++ << _clusterBits;
        }
        LayOutRefcountStructure(p, next);
        if (p.NewBlocks > 4 * p.Reftable.LongCount(e => (e & RefcountTableEntryOffsetMask) != 0) + 64)
        {
            // A file whose end lies far past the clusters its refcount blocks describe (a hostile or very sparse
            // image): the dense copy would write gigabytes of empty refcount blocks, so the requests go as QEMU's do.
            return null;
        }
        return FillRefcounts(p, moveL1) && CheckRewrites(p, overlay, changed) ? p : null;
    }

    /// <summary>The clusters (but the header's) that the held writes touch.</summary>
    private HashSet<long> ChangedClusters(OverlayStorage overlay)
    {
        var changed = new HashSet<long>();
        foreach (var r in overlay.Requests.Where(r => r.Kind == HeldRequestKind.Write && r.Data.Length > 0))
        {
            for (long c = Math.Max(1, r.Offset >> _clusterBits); c <= (r.Offset + r.Data.Length - 1) >> _clusterBits; c++)
            {
                changed.Add(c);
            }
        }
        return changed;
    }

    private bool Overlaps(HashSet<long> clusters, long offset, long length) =>
        length > 0 && Enumerable.Range(0, (int)SizeToClusters(length)).Any(i => clusters.Contains((offset >> _clusterBits) + i));

    /// <summary>Places the new refcount table and blocks from cluster next on, large enough to cover themselves.</summary>
    private void LayOutRefcountStructure(CrashSafePlan p, long next)
    {
        long perBlock = _refcounts.BlockSize;
        long blocks = 0, tableClusters = 0;
        while (true)
        {
            long end = next + tableClusters + blocks;
            long needBlocks = (end + perBlock - 1) / perBlock;
            long needTable = SizeToClusters(needBlocks * 8);
            if (needBlocks == blocks && needTable == tableClusters)
            {
                break;
            }
            blocks = needBlocks;
            tableClusters = needTable;
        }
        p.NewReftableOffset = next << _clusterBits;
        p.NewReftableClusters = tableClusters;
        p.NewBlocks = blocks;
    }

    /// <summary>W1's refcounts: W0's, with the moved structures' old clusters freed and their copies counted once.</summary>
    private bool FillRefcounts(CrashSafePlan p, bool moveL1)
    {
        long perBlock = _refcounts.BlockSize;
        if (p.NewBlocks > Array.MaxLength / perBlock)
        {
            // Held writes far past the end (a hostile table offset): no plan; the operation runs as before.
            return false;
        }
        var rc = ReadW0Refcounts(p, perBlock);
        if (rc is null)
        {
            return false;
        }
        bool ok = true;
        // Offsets from a hostile image may lie outside the planned range: then no crash-safe plan is made.
        ulong Get(long i)
        {
            if (i >= 0 && i < rc.Length)
            {
                return rc[i];
            }
            ok = false;
            return 0;
        }
        void Set(long i, ulong v)
        {
            if (i >= 0 && i < rc.Length)
            {
                rc[i] = v;
            }
            else
            {
                ok = false;
            }
        }
        void Move(long from, long to, long clusters)
        {
            for (long k = 0; k < clusters; k++)
            {
                ok &= Get((from >> _clusterBits) + k) == 1;
                Set((from >> _clusterBits) + k, 0);
                Set((to >> _clusterBits) + k, 1);
            }
        }
        if (moveL1)
        {
            Move(p.L1Offset, p.NewL1Offset, SizeToClusters(p.L1Size * 8));
        }
        foreach (var (from, to) in p.MovedL2)
        {
            // A table a snapshot shares keeps its other references; the active L1 table now reaches the copy.
            ulong r = Get(from >> _clusterBits);
            ok &= r >= 1;
            Set(from >> _clusterBits, r - 1);
            Set(to >> _clusterBits, 1);
        }
        Move(p.ReftableOffset, p.NewReftableOffset, p.ReftableClusters);
        foreach (ulong e in p.Reftable.Where(e => (e & RefcountTableEntryOffsetMask) != 0))
        {
            long c = (long)(e & RefcountTableEntryOffsetMask) >> _clusterBits;
            ok &= Get(c) == 1;
            Set(c, 0);
        }
        for (long k = 0; k < p.NewBlocks + p.NewReftableClusters; k++)
        {
            Set((p.NewReftableOffset >> _clusterBits) + k, 1);
        }
        p.Refcounts = rc;
        return ok;
    }

    /// <summary>
    /// W0's refcounts of the planned range, read from the refcount blocks; null when a block is misaligned. The array
    /// reaches the end of the moved structures or the last non-zero refcount, whichever is further, not the end of the
    /// last new block: past both every refcount is zero in W0 and W1 alike (a block of 2 MiB clusters covers a million
    /// clusters, where a fresh image uses a few hundred).
    /// </summary>
    private ulong[]? ReadW0Refcounts(CrashSafePlan p, long perBlock)
    {
        long limit = p.NewBlocks * perBlock;
        long length = Math.Min(limit, p.BlocksOffset(_clusterBits) + p.NewBlocks);
        var blocks = new List<(long First, byte[] Bytes, long Used)>();
        for (long i = 0; i < p.Reftable.Length; i++)
        {
            long block = (long)(p.Reftable[i] & RefcountTableEntryOffsetMask);
            if (block == 0)
            {
                continue;
            }
            if (OffsetIntoCluster(block) != 0)
            {
                return null;
            }
            if (i * perBlock >= limit)
            {
                continue;
            }
            var b = ReadFile(block, _clusterSize);
            // The entries up to the last one that shares a byte with a non-zero byte.
            long lastByte = b.AsSpan().LastIndexOfAnyExcept((byte)0);
            long used = Math.Min(Math.Min(perBlock, limit - i * perBlock), ((lastByte + 1) * 8 + (1L << _refcounts.Order) - 1) >> _refcounts.Order);
            if (used > 0)
            {
                blocks.Add((i * perBlock, b, used));
                length = Math.Max(length, i * perBlock + used);
            }
        }
        var rc = new ulong[length];
        foreach (var (first, b, used) in blocks)
        {
            for (long j = 0; j < used; j++)
            {
                rc[first + j] = RefcountBlock.Get(b, j, _refcounts.Order);
            }
        }
        return rc;
    }

    /// <summary>
    /// Whether every held write lands where W1 allows it: in a cluster free in W1, in the first sector of the header,
    /// or as a change of COPIED flags only in an L2 table that only snapshots reach in W1 (the flag is meaningless there).
    /// Discards of clusters live in W1 wait for the final switch, provided nothing is written over them later.
    /// </summary>
    private bool CheckRewrites(CrashSafePlan p, OverlayStorage overlay, HashSet<long> changed)
    {
        // Two clusters to compare, before and after, reused for every comparison (2 MiB each with large clusters).
        byte[] wasBuffer = ArrayPool<byte>.Shared.Rent(_clusterSize), nowBuffer = ArrayPool<byte>.Shared.Rent(_clusterSize);
        try
        {
            return CheckRewrites(p, overlay, changed, wasBuffer.AsSpan(0, _clusterSize), nowBuffer.AsSpan(0, _clusterSize));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(wasBuffer);
            ArrayPool<byte>.Shared.Return(nowBuffer);
        }
    }

    private bool CheckRewrites(CrashSafePlan p, OverlayStorage overlay, HashSet<long> changed, Span<byte> was, Span<byte> now)
    {
        var copies = p.MovedL2.Values.Select(v => v >> _clusterBits).ToHashSet();
        foreach (long c in changed)
        {
            if (c >= p.Base || copies.Contains(c) || (p.Refcounts[c] != 0 && !CopiedFlagsOnly(overlay, c, was, now)))
            {
                return false;
            }
        }
        _file.Read(0, was);
        overlay.Read(0, now);
        int first = Header.L1SizeOffset, last = Header.NbSnapshotsOffset;
        for (int i = 0; i < _clusterSize; i++)
        {
            if (was[i] != now[i])
            {
                first = Math.Min(first, i);
                last = Math.Max(last, i + 1);
            }
        }
        if (last > AtomicHeaderBytes)
        {
            return false;
        }
        (p.HeaderFrom, p.FinalHeader) = (first, now[first..last].ToArray());
        var requests = overlay.Requests;
        for (int i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            if (r.Kind != HeldRequestKind.Discard || FreeInW1(p, r.Offset, r.Length))
            {
                continue;
            }
            if (requests.Skip(i + 1).Any(w => w.Kind == HeldRequestKind.Write && w.Offset < r.Offset + r.Length && r.Offset < w.Offset + w.Data.Length))
            {
                return false;
            }
            p.DeferredDiscards.Add(r);
        }
        return true;
    }

    private bool FreeInW1(CrashSafePlan p, long offset, long length)
    {
        for (long c = offset >> _clusterBits; c <= (offset + length - 1) >> _clusterBits; c++)
        {
            if (c == 0 || c >= p.Base || (c < p.Refcounts.Length && p.Refcounts[c] != 0))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether the overlay changes cluster c only in the COPIED bit of L2 entries (was and now: a cluster each to use).</summary>
    private bool CopiedFlagsOnly(OverlayStorage overlay, long c, Span<byte> was, Span<byte> now)
    {
        _file.Read(c << _clusterBits, was);
        overlay.Read(c << _clusterBits, now);
        int stride = ExtendedL2 ? 16 : 8;
        for (int i = 0; i < _clusterSize; i += 8)
        {
            ulong a = BinaryPrimitives.ReadUInt64BigEndian(was[i..]);
            ulong b = BinaryPrimitives.ReadUInt64BigEndian(now[i..]);
            ulong allowed = i % stride == 0 ? L2Entry.Copied : 0;
            if (((a ^ b) & ~allowed) != 0)
            {
                return false;
            }
        }
        return true;
    }
}
