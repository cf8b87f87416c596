using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>Why clusters are freed; decides whether the freed range is discarded in the file (QEMU's qcow2_discard_type).</summary>
internal enum DiscardType { Never, Always, Request, Snapshot, Other }

/// <summary>A refcount block was allocated where the caller may have meant to put its data: search again (QEMU's -EAGAIN).</summary>
internal sealed class RetryAllocation() : Exception(ErrnoText.Of(Errno.EAGAIN))
{
}

/// <summary>What the refcount structures need from the image whose clusters they count.</summary>
internal interface IRefcountHost
{
    /// <summary>The image file as it is now (an overlay while a crash-safe operation runs).</summary>
    IStorage File { get; }

    /// <summary>The L2 table cache: flushed before a new refcount block is written, and dropped from where a cluster is freed.</summary>
    MetadataCache L2Cache { get; }

    /// <summary>Where qcow2_free_clusters reports a failure.</summary>
    TextWriter Diagnostics { get; }

    /// <summary>Marks the image corrupt (qcow2_signal_corruption, fatal, no offset); the caller then fails with EIO or EINVAL.</summary>
    void SignalCorruption(string message);

    /// <summary>A new refcount block at offset is metadata for the overlap checks.</summary>
    void NoteRefcountBlockEntered(long offset);

    /// <summary>The refcount table moved from [oldOffset, oldOffset + oldBytes) to where <see cref="Refcounts"/> now says.</summary>
    void NoteRefcountTableMoved(long oldOffset, long oldBytes);

    /// <summary>The header on disk now points at the refcount table at offset, of clusters clusters.</summary>
    void RefcountTableSwitched(long offset, uint clusters);
}

/// <summary>
/// The refcount structures of an image (QEMU's qcow2-refcount.c, in the manner of crosvm's RefCount): the refcount
/// table with its location, the refcount block cache, the cluster allocator's free-cluster cursor and the
/// compressed-data cursor, and the queue of freed ranges waiting to be discarded.
/// </summary>
internal sealed partial class Refcounts
{
    private readonly IRefcountHost _host;
    private readonly int _clusterBits;
    private readonly int _clusterSize;

    /// <summary>The first cluster index the allocator looks at (s->free_cluster_index).</summary>
    private long _freeClusterIndex;

    /// <summary>Where qcow2_alloc_bytes packs the next compressed data (s->free_byte_offset), 0 for a fresh cluster.</summary>
    private long _freeByteOffset;

    /// <summary>The cluster at <see cref="_freeByteOffset"/> was freed since; it is packed into only while still free.</summary>
    private bool _freeByteClusterFreed;

    /// <summary>Counts clusters of 2^clusterBits bytes with refcounts of 2^order bits.</summary>
    public Refcounts(IRefcountHost host, int clusterBits, int order)
    {
        _host = host;
        _clusterBits = clusterBits;
        _clusterSize = 1 << clusterBits;
        SetOrder(order);
    }

    /// <summary>log2 of the refcount width in bits.</summary>
    public int Order { get; private set; }

    /// <summary>log2 of <see cref="BlockSize"/>.</summary>
    public int BlockBits { get; private set; }

    /// <summary>Refcounts per refcount block.</summary>
    public long BlockSize { get; private set; }

    /// <summary>The largest refcount the width holds.</summary>
    public ulong Max { get; private set; }

    /// <summary>The refcount table in memory (read it; change entries with <see cref="SetEntry"/>).</summary>
    public ulong[] Table { get; private set; } = [];

    /// <summary>Where the table is in the file.</summary>
    public long TableOffset { get; private set; }

    /// <summary>Entries in the table.</summary>
    public long TableSize { get; private set; }

    /// <summary>The highest table index with a refcount block (s->max_refcount_table_index).</summary>
    public long MaxTableIndex { get; private set; }

    /// <summary>The refcount block cache (the image creates it at open, with its load and store paths).</summary>
    public MetadataCache Cache { get; set; } = null!;

    /// <summary>s->cache_discards: the queued discards wait for the end of a snapshot refcount update.</summary>
    public bool CacheDiscards { get; set; }

    /// <summary>Switches to refcounts of 2^order bits (open, and qcow2_change_refcount_order once the new table is live).</summary>
    public void SetOrder(int order)
    {
        Order = order;
        BlockBits = _clusterBits - (order - 3);
        BlockSize = 1L << BlockBits;
        Max = RefcountBlock.Max(order);
    }

    /// <summary>Says where the table is, as the header will (before it is loaded, or while a new header is written).</summary>
    public void Locate(long offset, long size)
    {
        TableOffset = offset;
        TableSize = size;
    }

    /// <summary>The table as read from where <see cref="Locate"/> said it is (qcow2_refcount_init).</summary>
    public void Load(ulong[] table) => Switch(table, TableOffset, TableSize);

    /// <summary>Makes table, at offset, the refcount table.</summary>
    public void Switch(ulong[] table, long offset, long size)
    {
        Table = table;
        Locate(offset, size);
        UpdateMaxTableIndex();
    }

    /// <summary>Changes one table entry in memory; the caller writes the table and calls <see cref="UpdateMaxTableIndex"/> as needed.</summary>
    public void SetEntry(long index, ulong entry) => Table[index] = entry;

    /// <summary>Starts the allocator's search at the first cluster again.</summary>
    public void ResetFreeCursor() => _freeClusterIndex = 0;

    /// <summary>A cluster was freed outside <see cref="Update"/>: the allocator's search starts no later than it.</summary>
    public void NoteFreed(long clusterIndex)
    {
        if (clusterIndex < _freeClusterIndex)
        {
            _freeClusterIndex = clusterIndex;
        }
    }

    private long OffsetIntoCluster(long offset) => offset & (_clusterSize - 1);

    private long StartOfCluster(long offset) => offset & ~(long)(_clusterSize - 1);

    private long SizeToClusters(long size) => (size + _clusterSize - 1) >> _clusterBits;

    internal static bool DiscardPassthrough(DiscardType t) => t switch
    {
        DiscardType.Always => true,
        DiscardType.Request => true,
        DiscardType.Snapshot => true,
        _ => false,
    };

    /// <summary>Finds the highest table index with a refcount block again, after entries changed.</summary>
    public void UpdateMaxTableIndex()
    {
        long i = TableSize - 1;
        while (i > 0 && (Table[i] & RefcountTableEntry.OffsetMask) == 0)
        {
            i--;
        }
        MaxTableIndex = Math.Max(i, 0);
    }

    /// <summary>The refcount of a cluster (0 when its block is not allocated).</summary>
    public ulong Get(long clusterIndex)
    {
        long tableIndex = clusterIndex >> BlockBits;
        if (tableIndex >= TableSize)
        {
            return 0;
        }
        long blockOffset = (long)(Table[tableIndex] & RefcountTableEntry.OffsetMask);
        if (blockOffset == 0)
        {
            return 0;
        }
        if (OffsetIntoCluster(blockOffset) != 0)
        {
            _host.SignalCorruption($"Refblock offset {Qcow2Image.Hex(blockOffset)} unaligned (reftable index: {Qcow2Image.Hex(tableIndex)})");
            throw new BlockIOException(Errno.EIO);
        }
        var block = Cache.Get(blockOffset);
        return RefcountBlock.Get(block, clusterIndex & (BlockSize - 1), Order);
    }

    private bool InSameBlock(long a, long b) =>
        a >> (_clusterBits + BlockBits) == b >> (_clusterBits + BlockBits);

    /// <summary>Adds or subtracts addend from the refcounts of every cluster in [offset, offset+length) (update_refcount).</summary>
    public void Update(long offset, long length, ulong addend, bool decrease, DiscardType type)
    {
        if (length < 0)
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        if (length == 0)
        {
            return;
        }
        if (decrease)
        {
            Cache.SetDependency(_host.L2Cache);
        }
        long start = StartOfCluster(offset);
        long last = StartOfCluster(offset + length - 1);
        long oldTableIndex = -1;
        long blockOffset = 0;
        long clusterOffset = start;
        try
        {
            for (; clusterOffset <= last; clusterOffset += _clusterSize)
            {
                long clusterIndex = clusterOffset >> _clusterBits;
                long tableIndex = clusterIndex >> BlockBits;
                if (tableIndex != oldTableIndex)
                {
                    try
                    {
                        blockOffset = AllocBlock(clusterIndex);
                    }
                    catch (RetryAllocation)
                    {
                        if (_freeClusterIndex > (start >> _clusterBits))
                        {
                            _freeClusterIndex = start >> _clusterBits;
                        }
                        throw;
                    }
                }
                oldTableIndex = tableIndex;
                var block = Cache.Get(blockOffset);
                Cache.MarkDirty(blockOffset);
                long blockIndex = clusterIndex & (BlockSize - 1);
                ulong refcount = RefcountBlock.Get(block, blockIndex, Order);
                if (decrease ? refcount - addend > refcount : refcount + addend < refcount || refcount + addend > Max)
                {
                    throw new BlockIOException(Errno.EINVAL);
                }
                refcount = decrease ? refcount - addend : refcount + addend;
                if (refcount == 0 && clusterIndex < _freeClusterIndex)
                {
                    _freeClusterIndex = clusterIndex;
                }
                RefcountBlock.Set(block, blockIndex, Order, refcount);
                if (refcount == 0 && ClusterFreed(offset, clusterOffset, type))
                {
                    oldTableIndex = -1;
                }
            }
        }
        catch (Exception e) when (e is BlockIOException or RetryAllocation)
        {
            if (!CacheDiscards)
            {
                ProcessDiscards(false);
            }
            if (clusterOffset > offset)
            {
                RollBack(offset, clusterOffset - offset, addend, !decrease);
            }
            throw;
        }
        if (!CacheDiscards)
        {
            ProcessDiscards(true);
        }
    }

    /// <summary>
    /// update_refcount after a refcount reached 0: the compressed-data cursor learns its cluster was freed, a cached
    /// table at offset (as QEMU looks it up: the range's start) is dropped, and the cluster is queued for discard.
    /// Returns whether the refcount block cache dropped a table (the next cluster then looks its block up again).
    /// </summary>
    private bool ClusterFreed(long offset, long clusterOffset, DiscardType type)
    {
        bool dropped = false;
        if (_freeByteOffset != 0 && StartOfCluster(_freeByteOffset) == clusterOffset)
        {
            _freeByteClusterFreed = true;
        }
        if (Cache.Contains(offset))
        {
            Cache.Discard(offset);
            dropped = true;
        }
        if (_host.L2Cache.Contains(offset))
        {
            _host.L2Cache.Discard(offset);
        }
        if (DiscardPassthrough(type))
        {
            QueueDiscard(clusterOffset, _clusterSize);
        }
        return dropped;
    }

    /// <summary>update_refcount's fail path: undoes the part of the update already done; QEMU ignores a failure of that.</summary>
    private void RollBack(long offset, long length, ulong addend, bool decrease)
    {
        try
        {
            Update(offset, length, addend, decrease, DiscardType.Never);
        }
        catch (Exception e) when (e is BlockIOException or RetryAllocation)
        {
        }
    }
}
