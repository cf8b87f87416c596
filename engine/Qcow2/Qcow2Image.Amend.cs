using Qcow2.Format;

namespace Qcow2;

/// <summary>
/// The image options qemu-img amend may set, as given (null where the option was not given); the engine applies
/// them in QEMU's order (qcow2_amend_options).
/// </summary>
public sealed class AmendRequest
{
    /// <summary>Whether any encrypt.* option was given.</summary>
    public bool EncryptOptions { get; init; }

    /// <summary>The new virtual size (0 or null: unchanged).</summary>
    public ulong? Size { get; init; }

    /// <summary>compat=: "0.10", "v2", "1.1" or "v3".</summary>
    public string? Compat { get; init; }

    /// <summary>Whether backing_file= was given, and its value.</summary>
    public string? BackingFile { get; init; }

    /// <summary>backing_fmt=.</summary>
    public string? BackingFormat { get; init; }

    /// <summary>data_file=.</summary>
    public string? DataFile { get; init; }

    /// <summary>data_file_raw=.</summary>
    public bool? DataFileRaw { get; init; }

    /// <summary>lazy_refcounts=.</summary>
    public bool? LazyRefcounts { get; init; }

    /// <summary>refcount_bits= as the unsigned number given.</summary>
    public ulong? RefcountBits { get; init; }
}

/// <summary>An amend or resize failure with QEMU's message, its optional hint, and error_report lines printed before it.</summary>
public sealed class ImageChangeException : BlockIOException
{
    private readonly string _message;

    /// <summary>Creates the failure.</summary>
    public ImageChangeException(string message, Errno errno, string? hint = null, IReadOnlyList<string>? reports = null) : base(errno)
    {
        _message = message;
        Hint = hint;
        Reports = reports ?? [];
    }

    /// <inheritdoc/>
    public override string Message => _message;

    /// <summary>Text printed after the message (QEMU's error_append_hint), with its own newlines, or null.</summary>
    public string? Hint { get; }

    /// <summary>Lines QEMU reported (error_report) before the final error.</summary>
    public IReadOnlyList<string> Reports { get; }
}

public sealed partial class Qcow2Image
{
    /// <summary>Lines reported while an amend runs (qcow2_expand_zero_clusters reports a bad snapshot L1 table).</summary>
    private readonly List<string> _amendReports = [];

    private ImageChangeException AmendError(string message, Errno errno, string? hint = null) =>
        new(message, errno, hint, _amendReports.ToList());

    private ImageChangeException AmendError(string prefix, BlockIOException e) =>
        e as ImageChangeException ?? AmendError($"{prefix}: {ErrnoText.Of(e.Errno)}", e.Errno);

    /// <summary>
    /// Changes image options as qemu-img amend does (qcow2_amend_options): upgrade first, then the refcount width,
    /// a header rewrite, lazy refcounts, the size, and a downgrade last. Throws ImageChangeException with QEMU's message.
    /// </summary>
    public void Amend(AmendRequest r, Action<long, long>? status = null)
    {
        ArgumentNullException.ThrowIfNull(r);
        CheckWritable();
        _amendReports.Clear();
        _amendProgress = new AmendProgress(status ?? ((_, _) => { }));
        int oldVersion = (int)_header.Version, newVersion = oldVersion;
        bool lazy = LazyRefcounts;
        bool dataFileRaw = (_header.AutoclearFeatures & Features.AutoclearDataFileRaw) != 0;
        int refcountBits = RefcountBits;

        // The options in the order of QEMU's amend option list.
        if (r.EncryptOptions)
        {
            throw AmendError("Can't amend encryption options - encryption not present", Errno.EINVAL);
        }
        if (r.Compat is not null)
        {
            newVersion = r.Compat switch
            {
                "0.10" or "v2" => 2,
                "1.1" or "v3" => 3,
                _ => throw AmendError($"Unknown compatibility level {r.Compat}", Errno.EINVAL),
            };
        }
        if (r.DataFile is not null)
        {
            throw AmendError("data-file can only be set for images that use an external data file", Errno.EINVAL);
        }
        if (r.DataFileRaw is bool raw)
        {
            if (raw && !dataFileRaw)
            {
                throw AmendError("data-file-raw cannot be set on existing images", Errno.EINVAL);
            }
            dataFileRaw = raw;
        }
        if (r.LazyRefcounts is bool l)
        {
            lazy = l;
        }
        if (r.RefcountBits is ulong bitsGiven)
        {
            // QEMU stores the number in an int.
            refcountBits = unchecked((int)bitsGiven);
            if (refcountBits <= 0 || refcountBits > 64 || (refcountBits & (refcountBits - 1)) != 0)
            {
                throw AmendError("Refcount width must be a power of two and may not exceed 64 bits", Errno.EINVAL);
            }
        }

        _amendProgress.Total = (newVersion != oldVersion ? 1 : 0) + (refcountBits != RefcountBits ? 1 : 0);
        if (newVersion > oldVersion)
        {
            _amendProgress.Current = AmendOperation.Upgrading;
            Upgrade();
        }
        if (refcountBits != RefcountBits)
        {
            if (newVersion < 3 && refcountBits != 16)
            {
                throw AmendError("Refcount widths other than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)", Errno.EINVAL);
            }
            _amendProgress.Current = AmendOperation.ChangingRefcountOrder;
            ChangeRefcountOrder(System.Numerics.BitOperations.TrailingZeroCount(refcountBits));
        }
        if (dataFileRaw)
        {
            _header.AutoclearFeatures |= Features.AutoclearDataFileRaw;
        }
        else
        {
            _header.AutoclearFeatures &= ~Features.AutoclearDataFileRaw;
        }
        UpdateHeaderOrFail("Failed to update the image header");

        if (r.BackingFile is not null || r.BackingFormat is not null)
        {
            if (r.BackingFile != BackingFileName || r.BackingFormat != BackingFormat)
            {
                throw AmendError("Cannot amend the backing file", Errno.EINVAL, "You can use 'qemu-img rebase' instead.\n");
            }
        }

        if (LazyRefcounts != lazy)
        {
            if (lazy)
            {
                if (newVersion < 3)
                {
                    throw AmendError("Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)", Errno.EINVAL);
                }
                _header.CompatibleFeatures |= Features.CompatLazyRefcounts;
                UpdateHeaderOrFail("Failed to update the image header");
            }
            else
            {
                MarkCleanOrFail();
                _header.CompatibleFeatures &= ~Features.CompatLazyRefcounts;
                UpdateHeaderOrFail("Failed to update the image header");
            }
        }

        if (r.Size is ulong size && size != 0)
        {
            // blk_truncate with exact=true and no preallocation; a shrink needs no --shrink here.
            Truncate(unchecked((long)size), "off");
        }

        if (newVersion < oldVersion)
        {
            _amendProgress.Current = AmendOperation.Downgrading;
            Downgrade();
        }
    }

    private enum AmendOperation { None, Upgrading, ChangingRefcountOrder, Downgrading }

    /// <summary>
    /// qcow2_amend_helper_cb: turns each operation's (done, work) into one figure for the whole amend, projecting the
    /// operations not yet started as as large as the ones so far.
    /// </summary>
    private sealed class AmendProgress(Action<long, long> report)
    {
        private int _completed;
        private long _offsetCompleted, _lastWorkSize;
        private AmendOperation _last;

        public int Total { get; set; }

        public AmendOperation Current { get; set; }

        public void Status(long offset, long workSize)
        {
            if (Current != _last)
            {
                if (_last != AmendOperation.None)
                {
                    _offsetCompleted += _lastWorkSize;
                    _completed++;
                }
                _last = Current;
            }
            _lastWorkSize = workSize;
            long currentWork = _offsetCompleted + workSize;
            long projected = currentWork * (Total - _completed - 1) / (_completed + 1);
            report(_offsetCompleted + offset, currentWork + projected);
        }
    }

    private AmendProgress _amendProgress = new((_, _) => { });

    private void UpdateHeaderOrFail(string what)
    {
        try
        {
            UpdateHeader();
        }
        catch (BlockIOException e)
        {
            throw AmendError(what, e);
        }
    }

    /// <summary>qcow2_mark_clean: flush and clear the dirty bit when it is set.</summary>
    private void MarkCleanOrFail()
    {
        if (!Dirty)
        {
            return;
        }
        try
        {
            MarkClean();
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to make the image clean", e);
        }
    }

    /// <summary>qcow2_upgrade: v3 needs the VM state size and disk size in every snapshot entry, then the header.</summary>
    private void Upgrade()
    {
        _amendProgress.Status(0, 2);
        if (_snapshots.Any(s => s.ExtraDataSize < SnapshotEntry.V3MinExtraSize))
        {
            try
            {
                WriteSnapshots();
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to update the snapshot table", e);
            }
        }
        _amendProgress.Status(1, 2);
        uint old = _header.Version;
        _header.Version = 3;
        try
        {
            UpdateHeader();
        }
        catch (BlockIOException e)
        {
            _header.Version = old;
            throw AmendError("Failed to update the image header", e);
        }
        _amendProgress.Status(2, 2);
    }

    /// <summary>qcow2_downgrade: refuses what version 2 cannot express, then turns zero clusters into data or holes.</summary>
    private void Downgrade()
    {
        if (_refcountOrder != 4)
        {
            throw AmendError("compat=0.10 requires refcount_bits=16", Errno.ENOTSUP);
        }
        foreach (var sn in _snapshots)
        {
            if (sn.VmStateSize > uint.MaxValue || sn.DiskSize != (ulong)DiskSizeBytes)
            {
                throw AmendError("Internal snapshots prevent downgrade of image", Errno.ENOTSUP);
            }
        }
        MarkCleanOrFail();
        ulong incompat = _header.IncompatibleFeatures & ~Features.IncompatCompression;
        if (incompat != 0)
        {
            throw AmendError($"Cannot downgrade an image with incompatible features 0x{incompat:x} set", Errno.ENOTSUP);
        }
        _header.CompatibleFeatures = 0;
        _header.AutoclearFeatures = 0;
        try
        {
            ExpandZeroClusters();
        }
        catch (RetryAllocation)
        {
            throw AmendError("Failed to turn zero into data clusters: " + ErrnoText.Of(Errno.EAGAIN), Errno.EAGAIN);
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to turn zero into data clusters", e);
        }
        if ((_header.IncompatibleFeatures & Features.IncompatCompression) != 0)
        {
            if (HasCompressedClusters())
            {
                throw AmendError("Cannot downgrade an image with zstd compression type and existing compressed clusters", Errno.ENOTSUP);
            }
            _header.IncompatibleFeatures &= ~Features.IncompatCompression;
            _header.CompressionType = 0;
        }
        uint old = _header.Version;
        _header.Version = 2;
        try
        {
            UpdateHeader();
        }
        catch (BlockIOException e)
        {
            _header.Version = old;
            throw AmendError("Failed to update the image header", e);
        }
    }

    private bool HasCompressedClusters()
    {
        long offset = 0, bytes = DiskSizeBytes;
        while (bytes > 0)
        {
            long n = Math.Min(int.MaxValue, bytes);
            if (GetHostOffset(offset, ref n, out _, out _) == ClusterType.Compressed)
            {
                return true;
            }
            offset += n;
            bytes -= n;
        }
        return false;
    }

    /// <summary>
    /// qcow2_expand_zero_clusters: in the active L1 table and then every snapshot's, plain zero clusters become
    /// unallocated (or, with a backing file, newly allocated zeroed clusters) and preallocated ones plain data.
    /// </summary>
    private void ExpandZeroClusters()
    {
        _expandTotal = _l1Size + _snapshots.Sum(sn => (long)sn.L1Size);
        _expandVisited = 0;
        ExpandZeroClustersInL1(_l1Table, _l1Size, active: true);
        // Inactive L1 tables may share the active L2 tables: write and drop the cached ones first.
        _l2Cache.Flush();
        _l2Cache.Clear();
        foreach (var sn in _snapshots)
        {
            if (SnapshotL1Error(sn) is (string msg, Errno errno))
            {
                _amendReports.Add(msg);
                throw new BlockIOException(errno);
            }
            if (sn.L1Size == 0)
            {
                // QEMU reallocates its buffer to the table's size, and g_try_realloc of 0 bytes returns NULL.
                throw new BlockIOException(Errno.ENOMEM);
            }
            var l1 = ReadTable((long)sn.L1TableOffset, (int)sn.L1Size);
            ExpandZeroClustersInL1(l1, (int)sn.L1Size, active: false);
        }
    }

    private long _expandTotal, _expandVisited;

    private void ExpandZeroClustersInL1(ulong[] l1, int l1Size, bool active)
    {
        for (int i = 0; i < l1Size; i++)
        {
            long l2Offset = (long)(l1[i] & L1Entry.OffsetMask);
            if (l2Offset == 0)
            {
                _amendProgress.Status(++_expandVisited, _expandTotal);
                continue;
            }
            if (OffsetIntoCluster(l2Offset) != 0)
            {
                SignalCorruption(true, -1, -1, $"L2 table offset {Hex(l2Offset)} unaligned (L1 index: {Hex(i)})");
                throw new BlockIOException(Errno.EIO);
            }
            ulong l2Refcount = GetRefcount(l2Offset >> _clusterBits);
            byte[] table = active ? _l2Cache.Get(l2Offset) : ReadFile(l2Offset, _clusterSize);
            bool dirty = false;
            for (int j = 0; j < _l2Size; j++)
            {
                if (active)
                {
                    // Allocations may evict or reload the cached table.
                    table = _l2Cache.Get(l2Offset);
                }
                ulong entry = GetEntry(table, j);
                var type = new L2Entry(entry).Type;
                if (type is not (ClusterType.ZeroPlain or ClusterType.ZeroAlloc))
                {
                    continue;
                }
                long offset = (long)(entry & L2Entry.OffsetMask);
                bool plain = type == ClusterType.ZeroPlain;
                if (plain)
                {
                    if (Backing is null)
                    {
                        SetEntry(table, j, 0);
                        MarkExpanded(active, l2Offset, ref dirty);
                        continue;
                    }
                    offset = AllocClusters(_clusterSize);
                    if (l2Refcount > 1)
                    {
                        try
                        {
                            UpdateRefcount(offset, _clusterSize, l2Refcount - 1, false, DiscardType.Other);
                        }
                        catch (Exception e) when (e is BlockIOException or RetryAllocation)
                        {
                            FreeClusters(offset, _clusterSize, DiscardType.Other);
                            throw;
                        }
                    }
                    if (active)
                    {
                        table = _l2Cache.Get(l2Offset);
                    }
                }
                if (OffsetIntoCluster(offset) != 0)
                {
                    SignalCorruption(true, -1, -1,
                        $"Cluster allocation offset {Hex(offset)} unaligned (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(j)})");
                    if (plain)
                    {
                        FreeClusters(offset, _clusterSize, DiscardType.Always);
                    }
                    throw new BlockIOException(Errno.EIO);
                }
                try
                {
                    PreWriteOverlapCheck(Overlap.OverlapTypes.None, offset, _clusterSize);
                    _file.WriteZeroes(offset, _clusterSize);
                }
                catch (BlockIOException)
                {
                    if (plain)
                    {
                        FreeClusters(offset, _clusterSize, DiscardType.Always);
                    }
                    throw;
                }
                if (active)
                {
                    table = _l2Cache.Get(l2Offset);
                }
                SetEntry(table, j, l2Refcount == 1 ? (ulong)offset | L2Entry.Copied : (ulong)offset);
                MarkExpanded(active, l2Offset, ref dirty);
            }
            if (!active && dirty)
            {
                PreWriteOverlapCheck(Overlap.OverlapTypes.InactiveL2 | Overlap.OverlapTypes.ActiveL2, l2Offset, _clusterSize);
                _file.Write(l2Offset, table);
            }
            _amendProgress.Status(++_expandVisited, _expandTotal);
        }
    }

    private void MarkExpanded(bool active, long l2Offset, ref bool dirty)
    {
        dirty = true;
        if (active)
        {
            _l2Cache.MarkDirty(l2Offset);
        }
    }

    /// <summary>What a pass over the refcount structures does with each finished new refcount block.</summary>
    private delegate void RefblockFinish(ref ulong[] table, long index, byte[] block, bool empty, ref bool allocated);

    /// <summary>
    /// Rebuilds the refcount structures at a new width (qcow2_change_refcount_order): walks the old table to allocate
    /// the new blocks and table until no more allocations happen, writes the new blocks and table, switches the
    /// header, then frees the old structures.
    /// </summary>
    private void ChangeRefcountOrder(int order)
    {
        int newBlockEntries = 1 << (_clusterBits - (order - 3));
        var newBlock = new byte[_clusterSize];
        ulong[] newTable = [];
        long newTableOffset = 0, allocatedTableSize = 0;
        bool allocation;
        int walkIndex = 0;
        try
        {
            do
            {
                allocation = false;
                int totalWalks = Math.Max(walkIndex + 2, 3);
                WalkOverReftable(ref newTable, newBlockEntries, order, null, AllocNewRefblock, ref allocation, walkIndex++, totalWalks);
                if (allocation)
                {
                    if (newTableOffset != 0)
                    {
                        FreeClusters(newTableOffset, allocatedTableSize * 8, DiscardType.Never);
                    }
                    try
                    {
                        newTableOffset = AllocClusters(newTable.LongLength * 8);
                    }
                    catch (BlockIOException e)
                    {
                        newTableOffset = 0;
                        throw AmendError("Failed to allocate the new reftable", e);
                    }
                    allocatedTableSize = newTable.LongLength;
                }
            }
            while (allocation);

            bool none = false;
            WalkOverReftable(ref newTable, newBlockEntries, order, newBlock, FlushNewRefblock, ref none, walkIndex, walkIndex + 1);

            try
            {
                PreWriteOverlapCheck(Overlap.OverlapTypes.None, newTableOffset, newTable.LongLength * 8);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Overlap check failed", e);
            }
            try
            {
                _file.Write(newTableOffset, TableBytes(newTable, newTable.Length));
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to write the new reftable", e);
            }
            try
            {
                _refblockCache.Flush();
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to flush the refblock cache", e);
            }
        }
        catch (ImageChangeException)
        {
            FreeNewRefcountStructures(newTable, newTableOffset);
            throw;
        }

        int oldOrder = _refcountOrder;
        long oldSize = _refcountTableSize, oldOffset = _refcountTableOffset;
        ulong[] oldTable = _refcountTable;
        _header.RefcountOrder = (uint)order;
        _refcountTableSize = newTable.LongLength;
        _refcountTableOffset = newTableOffset;
        try
        {
            UpdateHeader();
        }
        catch (BlockIOException e)
        {
            _header.RefcountOrder = (uint)oldOrder;
            _refcountTableSize = oldSize;
            _refcountTableOffset = oldOffset;
            FreeNewRefcountStructures(newTable, newTableOffset);
            throw AmendError("Failed to update the qcow2 header", e);
        }
        _refcountTable = newTable;
        UpdateMaxRefcountTableIndex();
        _refcountOrder = order;
        _refcountBlockBits = _clusterBits - (order - 3);
        _refcountBlockSize = 1L << _refcountBlockBits;
        _refcountMax = RefcountBlock.Max(order);

        // The overlap structures follow the switch; the old blocks are data clusters about to be freed.
        for (long i = 0; i < oldSize; i++)
        {
            long rb = (long)(oldTable[i] & RefcountTableEntryOffsetMask);
            if (rb != 0)
            {
                _tracker.Remove(rb, _clusterSize, Overlap.OverlapTypes.RefcountBlock);
            }
        }
        NoteRefcountTableMoved(oldOffset, oldSize * 8);
        FreeNewRefcountStructures(oldTable, oldOffset, oldSize);
    }

    /// <summary>Frees every refcount block a table names and the table itself (the cleanup after the done label).</summary>
    private void FreeNewRefcountStructures(ulong[] table, long tableOffset, long tableSize = -1)
    {
        foreach (ulong e in table)
        {
            long offset = (long)(e & RefcountTableEntryOffsetMask);
            if (offset != 0)
            {
                FreeClusters(offset, _clusterSize, DiscardType.Other);
            }
        }
        if (tableOffset > 0)
        {
            FreeClusters(tableOffset, (tableSize < 0 ? table.LongLength : tableSize) * 8, DiscardType.Other);
        }
    }

    /// <summary>
    /// walk_over_reftable: every refcount of the current structures, in order, copied into new blocks of newEntries
    /// entries at the new width (when block is given); finish runs for every completed new block.
    /// </summary>
    private void WalkOverReftable(ref ulong[] newTable, int newEntries, int newOrder, byte[]? block, RefblockFinish finish, ref bool allocated,
        int walkIndex, int totalWalks)
    {
        int newBits = 1 << newOrder;
        long newIndex = 0;
        int entry = 0;
        bool empty = true;

        void Complete(ref ulong[] table, ref bool alloc)
        {
            finish(ref table, newIndex, block ?? [], empty, ref alloc);
            newIndex++;
            entry = 0;
            empty = true;
        }

        for (long ti = 0; ti < _refcountTableSize; ti++)
        {
            _amendProgress.Status(walkIndex * _refcountTableSize + ti, totalWalks * _refcountTableSize);
            long rbOffset = (long)(_refcountTable[ti] & RefcountTableEntryOffsetMask);
            if (rbOffset != 0 && OffsetIntoCluster(rbOffset) != 0)
            {
                SignalCorruption(true, -1, -1, $"Refblock offset {Hex(rbOffset)} unaligned (reftable index: {Hex(ti)})");
                throw AmendError("Image is corrupt (unaligned refblock offset)", Errno.EIO);
            }
            // The block is looked up again only after a finished new block, whose allocation may have changed refcounts
            // (QEMU holds it for the whole block); an absent block is a run of zero refcounts, copied a run at a time.
            byte[]? old = null;
            for (long bi = 0; bi < _refcountBlockSize;)
            {
                if (entry >= newEntries)
                {
                    Complete(ref newTable, ref allocated);
                    old = null;
                }
                if (rbOffset != 0)
                {
                    old ??= RefblockForWalk(rbOffset);
                }
                else
                {
                    int run = (int)Math.Min(_refcountBlockSize - bi, newEntries - entry);
                    if (block is not null)
                    {
                        ZeroRefcounts(block, entry, run, newOrder);
                    }
                    entry += run;
                    bi += run;
                    continue;
                }
                ulong refcount = RefcountBlock.Get(old, bi, _refcountOrder);
                if (newBits < 64 && refcount >> newBits != 0)
                {
                    long offset = ((ti << _refcountBlockBits) + bi) << _clusterBits;
                    throw AmendError($"Cannot decrease refcount entry width to {newBits} bits: Cluster at offset {Hex(offset)} has a refcount of {refcount}", Errno.EINVAL);
                }
                if (block is not null)
                {
                    RefcountBlock.Set(block, entry, newOrder, refcount);
                }
                entry++;
                bi++;
                empty = empty && refcount == 0;
            }
        }
        if (entry > 0)
        {
            if (block is not null)
            {
                for (; entry < newEntries; entry++)
                {
                    RefcountBlock.Set(block, entry, newOrder, 0);
                }
            }
            Complete(ref newTable, ref allocated);
        }
        _amendProgress.Status((walkIndex + 1) * _refcountTableSize, totalWalks * _refcountTableSize);
    }

    /// <summary>The refcount block the reftable walk reads.</summary>
    private byte[] RefblockForWalk(long rbOffset)
    {
        try
        {
            return _refblockCache.Get(rbOffset);
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to retrieve refblock", e);
        }
    }

    /// <summary>Sets count refcounts from entry on to zero in a block of the given order.</summary>
    private static void ZeroRefcounts(byte[] block, int entry, int count, int order)
    {
        int bits = 1 << order;
        if ((long)entry * bits % 8 == 0 && (long)count * bits % 8 == 0)
        {
            Array.Clear(block, (int)((long)entry * bits / 8), (int)((long)count * bits / 8));
            return;
        }
        for (int i = 0; i < count; i++)
        {
            RefcountBlock.Set(block, entry + i, order, 0);
        }
    }

    /// <summary>alloc_refblock: grows the new table as needed and allocates a cluster for every non-empty new block.</summary>
    private void AllocNewRefblock(ref ulong[] table, long index, byte[] block, bool empty, ref bool allocated)
    {
        if (!empty && index >= table.LongLength)
        {
            long perCluster = _clusterSize / 8;
            long newSize = RoundUp(index + 1, perCluster);
            if (newSize > MaxRefcountTableBytes / 8)
            {
                throw AmendError("This operation would make the refcount table grow beyond the maximum size supported by QEMU, aborting", Errno.ENOTSUP);
            }
            Array.Resize(ref table, (int)newSize);
        }
        if (!empty && table[index] == 0)
        {
            try
            {
                table[index] = (ulong)AllocClusters(_clusterSize);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to allocate refblock", e);
            }
            allocated = true;
        }
    }

    /// <summary>flush_refblock: writes a finished new block where the new table puts it.</summary>
    private void FlushNewRefblock(ref ulong[] table, long index, byte[] block, bool empty, ref bool allocated)
    {
        if (index < table.LongLength && table[index] != 0)
        {
            long offset = (long)table[index];
            try
            {
                PreWriteOverlapCheck(Overlap.OverlapTypes.None, offset, _clusterSize);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Overlap check failed", e);
            }
            try
            {
                _file.Write(offset, block);
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to write refblock", e);
            }
        }
    }
}
