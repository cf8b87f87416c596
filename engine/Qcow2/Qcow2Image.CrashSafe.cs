using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>
/// Crash-safe metadata operations (docs/reliability.md, "Crash consistency"). QEMU's snapshot create, delete and goto
/// change refcounts and the COPIED flags of the active tables in separate writes, so a crash between them leaves an image
/// qemu-img check calls corrupt ("OFLAG_COPIED ... refcount=2"); no order of those in-place writes avoids that. Here the
/// operation runs unchanged against an overlay that holds its writes back; then they reach the file through two
/// switches of the header's first sector, each behind flush barriers:
/// W0 (the image before) -> W1 (the same image with the active L1 table, the active L2 tables the operation rewrites
/// and the refcount structure copied past the end of the file, so that every cluster the operation rewrites is free)
/// -> W2 (the held writes applied, then the header QEMU's order would have written). A crash anywhere leaves W0, W1 or
/// W2 plus bytes in free clusters: never a leak, never a corruption. The file ends byte for byte as QEMU's order leaves it.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>Whether the next snapshot operations use the crash-safe commit (on by default; tests compare both).</summary>
    internal bool CrashSafeSnapshots { get; set; } = true;

    /// <summary>
    /// Runs operation against an overlay and commits what it wrote crash-safely. Blkdebug stays on the direct path (its
    /// events and injected errors must fall on QEMU's requests), as do lazy-refcount and dirty images (their on-disk
    /// refcounts are not the truth).
    /// </summary>
    private void RunCrashSafe(Action operation)
    {
        if (!CrashSafeSnapshots || _file is IBlkdebugControl || _file is OverlayStorage || Dirty || UseLazyRefcounts || _readOnly)
        {
            operation();
            return;
        }
        FlushCaches();
        var real = _file;
        var overlay = new OverlayStorage(real);
        ExceptionDispatchInfo? failure = null;
        _file = overlay;
        try
        {
            operation();
            FlushCaches();
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            _file = real;
        }
        if (overlay.Requests.Any(r => r.Kind != HeldRequestKind.Flush))
        {
            try
            {
                CommitCrashSafe(overlay);
            }
            catch (BlockIOException)
            {
                // Memory already holds the new state and the file may not: nothing may be written on that basis.
                _unusable = true;
                throw;
            }
        }
        failure?.Throw();
    }

    private void CommitCrashSafe(OverlayStorage overlay)
    {
        var plan = PlanCrashSafe(overlay);
        if (plan is null)
        {
            Replay(overlay.Requests, keepHeader: true);
            return;
        }
        WriteIntermediate(plan);
        _file.Flush();
        var sw = new byte[Header.NbSnapshotsOffset - Header.L1SizeOffset];
        BinaryPrimitives.WriteUInt32BigEndian(sw, (uint)plan.L1Size);
        BinaryPrimitives.WriteUInt64BigEndian(sw.AsSpan(Header.L1TableOffsetOffset - Header.L1SizeOffset), (ulong)plan.NewL1Offset);
        BinaryPrimitives.WriteUInt64BigEndian(sw.AsSpan(Header.RefcountTableOffsetOffset - Header.L1SizeOffset), (ulong)plan.NewReftableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(sw.AsSpan(Header.RefcountTableClustersOffset - Header.L1SizeOffset), (uint)plan.NewReftableClusters);
        _file.Write(Header.L1SizeOffset, sw);
        _file.Flush();

        Replay(overlay.Requests.Where(r => !plan.DeferredDiscards.Contains(r)), keepHeader: false);
        _file.Flush();
        _file.Write(plan.HeaderFrom, plan.FinalHeader);
        _file.Flush();

        foreach (var d in plan.DeferredDiscards)
        {
            _file.Discard(d.Offset, d.Length);
        }
        _file.SetLength(overlay.Length);
    }

    /// <summary>Writes W1's moved structures past the end of the file: the L1 table, the L2 copies, the refcount table and blocks.</summary>
    private void WriteIntermediate(CrashSafePlan p)
    {
        if (p.NewL1Offset != p.L1Offset)
        {
            var l1 = (ulong[])p.L1.Clone();
            for (int i = 0; i < l1.Length; i++)
            {
                long l2 = (long)(l1[i] & L1Entry.OffsetMask);
                if (l2 != 0 && p.MovedL2.TryGetValue(l2, out long copy))
                {
                    l1[i] = (ulong)copy | L1Entry.Copied;
                }
            }
            _file.Write(p.NewL1Offset, TableBytes(l1, l1.Length));
        }
        long blocksAt = p.BlocksOffset(_clusterBits);
        var table = new ulong[p.NewReftableClusters * _clusterSize / 8];
        // One cluster buffer for every L2 copy and refcount block (2 MiB with large clusters).
        byte[] rented = ArrayPool<byte>.Shared.Rent(_clusterSize);
        try
        {
            var cluster = rented.AsSpan(0, _clusterSize);
            foreach (var (from, to) in p.MovedL2)
            {
                _file.Read(from, cluster);
                _file.Write(to, cluster);
            }
            for (long k = 0; k < p.NewBlocks; k++)
            {
                table[k] = (ulong)(blocksAt + k) << _clusterBits;
                cluster.Clear();
                // Past the end of p.Refcounts every refcount is zero.
                long first = k * _refcounts.BlockSize;
                for (long j = 0; j < _refcounts.BlockSize && first + j < p.Refcounts.Length; j++)
                {
                    RefcountBlock.Set(cluster, j, _refcounts.Order, p.Refcounts[first + j]);
                }
                _file.Write((blocksAt + k) << _clusterBits, cluster);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        _file.Write(p.NewReftableOffset, TableBytes(table, table.Length));
    }

    /// <summary>
    /// Sends held requests to the file in their order. Without keepHeader the header cluster is left out (the final
    /// switch writes it) and so are flushes and length changes (the file is already longer).
    /// </summary>
    private void Replay(IEnumerable<HeldRequest> requests, bool keepHeader)
    {
        foreach (var r in requests)
        {
            switch (r.Kind)
            {
                case HeldRequestKind.Write:
                    int skip = keepHeader ? 0 : (int)Math.Clamp(_clusterSize - r.Offset, 0, r.Data.Length);
                    if (skip < r.Data.Length)
                    {
                        _file.Write(r.Offset + skip, r.Data.AsSpan(skip));
                    }
                    break;
                case HeldRequestKind.Discard:
                    _file.Discard(r.Offset, r.Length);
                    break;
                case HeldRequestKind.SetLength when keepHeader:
                    _file.SetLength(r.Length);
                    break;
                case HeldRequestKind.Flush when keepHeader:
                    _file.Flush();
                    break;
            }
        }
    }
}
