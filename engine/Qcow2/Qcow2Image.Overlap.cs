using System.Buffers.Binary;
using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

public sealed partial class Qcow2Image : IOverlapChecker
{
    private OverlapTypes _overlapCheck = OverlapTemplates.Default;
    private OverlapCheckOptions _overlapOptions = new();
    private MetadataList? _metadataList;
    private MetadataListChecker? _listChecker;
    /// <summary>QCOW2_MAX_BITMAPS: the most bitmaps QEMU accepts in an image.</summary>
    private const uint MaxBitmaps = 65535;
    /// <summary>QCOW2_MAX_BITMAP_DIRECTORY_SIZE: the largest bitmap directory QEMU accepts.</summary>
    private const ulong MaxBitmapDirectorySize = 1024UL * MaxBitmaps;
    private long _bitmapDirectoryOffset;
    private long _bitmapDirectorySize;

    /// <summary>Whether checks use the series' metadata list (true) or upstream's linear scan (false).</summary>
    public bool UsesMetadataList => _metadataList is not null;

    /// <summary>The metadata list, when the image uses one (its memory use and limit are public).</summary>
    public MetadataList? MetadataList => _metadataList;

    private void ApplyOptions()
    {
        var unknown = _options.Options.Keys.Where(k => !IsKnownOption(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ImageOpenException($"Invalid parameter '{unknown[0]}'", Errno.EINVAL);
        }
        _overlapOptions = OverlapCheckOptions.Parse(_options.Options);
        _overlapCheck = _overlapOptions.Enabled;
    }

    private static bool IsKnownOption(string key) =>
        OverlapCheckOptions.IsOverlapOption(key) || key.StartsWith("file.", StringComparison.Ordinal)
        || key is "driver" or "node-name" or "read-only" or "cache.direct" or "cache.no-flush" or "discard"
            or "lazy-refcounts" or "pass-discard-request" or "pass-discard-snapshot" or "pass-discard-other"
            or "l2-cache-size" or "refcount-cache-size" or "cache-size" or "l2-cache-entry-size" or "cache-clean-interval"
            or "detect-zeroes" or "auto-read-only" or "force-share" or "backing";

    /// <summary>Builds the metadata list and enters every structure the image has (the series' list creation at open).</summary>
    private void CreateOverlapStructures()
    {
        _metadataList = _overlapOptions.CreateMetadataList(_clusterBits, _file.Length, SignalMemoryExcess);
        if (_metadataList is null)
        {
            return;
        }
        _listChecker = new MetadataListChecker(_metadataList);
        MetaEnter(0, _clusterSize, OverlapTypes.MainHeader);
        MetaEnter(_refcountTableOffset, _refcountTableSize * 8, OverlapTypes.RefcountTable);
        for (long i = 0; i <= _maxRefcountTableIndex && i < _refcountTableSize; i++)
        {
            long rb = (long)(_refcountTable[i] & RefcountTableEntryOffsetMask);
            if (rb != 0)
            {
                MetaEnter(rb, _clusterSize, OverlapTypes.RefcountBlock);
            }
        }
        MetaEnter(_l1TableOffset, (long)_l1Size * 8, OverlapTypes.ActiveL1);
        EnterL2Tables(_l1Table, OverlapTypes.ActiveL2);
        EnterSnapshotStructures();
        if ((_header.AutoclearFeatures & Features.AutoclearBitmaps) != 0 && _bitmapDirectorySize > 0)
        {
            MetaEnter(_bitmapDirectoryOffset, _bitmapDirectorySize, OverlapTypes.BitmapDirectory);
        }
    }

    private void EnterL2Tables(ulong[] l1, OverlapTypes type)
    {
        foreach (ulong e in l1)
        {
            long l2 = (long)(e & L1Entry.OffsetMask);
            if (l2 != 0)
            {
                MetaEnter(l2, _clusterSize, type);
            }
        }
    }

    private void MetaEnter(long offset, long bytes, OverlapTypes type)
    {
        // A table entry of 2^63 or more is no file offset (the cast made it negative): nothing can be written there,
        // so it cannot overlap a write; QEMU's check reports such a structure as outside the image.
        if (_metadataList is not null && bytes > 0 && offset >= 0)
        {
            _metadataList.Enter(offset, SizeToClusters(OffsetIntoCluster(offset) + bytes), type);
        }
    }

    private void MetaRemove(long offset, long bytes, OverlapTypes type)
    {
        if (_metadataList is not null && bytes > 0 && offset >= 0)
        {
            _metadataList.Remove(offset, SizeToClusters(OffsetIntoCluster(offset) + bytes), type);
        }
    }

    private void NoteRefcountBlockEntered(long offset) => MetaEnter(offset, _clusterSize, OverlapTypes.RefcountBlock);

    private void NoteRefcountTableMoved(long oldOffset, long oldBytes)
    {
        MetaRemove(oldOffset, oldBytes, OverlapTypes.RefcountTable);
        MetaEnter(_refcountTableOffset, _refcountTableSize * 8, OverlapTypes.RefcountTable);
        for (long i = 0; i < _refcountTableSize; i++)
        {
            long rb = (long)(_refcountTable[i] & RefcountTableEntryOffsetMask);
            if (rb != 0)
            {
                MetaEnter(rb, _clusterSize, OverlapTypes.RefcountBlock);
            }
        }
    }

    private void NoteActiveL1Moved(long oldOffset, int oldSize)
    {
        MetaRemove(oldOffset, (long)oldSize * 8, OverlapTypes.ActiveL1);
        MetaEnter(_l1TableOffset, (long)_l1Size * 8, OverlapTypes.ActiveL1);
    }

    private void NoteActiveL2Entered(long offset) => MetaEnter(offset, _clusterSize, OverlapTypes.ActiveL2);

    private void NoteActiveL2Removed(long offset) => MetaRemove(offset, _clusterSize, OverlapTypes.ActiveL2);

    private void SignalMemoryExcess(long start, long length)
    {
        string reference = _options.DeviceName.Length > 0 ? _options.DeviceName : _options.NodeName ?? "";
        _options.Events?.Invoke(new QmpEvent("QCOW2_OVERLAP_CHECK_MEMORY_LIMIT_REACHED",
        [
            new("length", length),
            new("start", start),
            new("reference", reference),
        ]));
    }

    /// <summary>Every enabled structure type (not in ignore) that [offset, offset + size) overlaps, by the configured method.</summary>
    public OverlapTypes FindOverlaps(OverlapTypes ignore, long offset, long size) =>
        _listChecker is not null
            ? _listChecker.FindOverlaps(ignore, offset, size)
            : ScanOverlaps(ignore, offset, size);

    /// <summary>Upstream QEMU's linear scan (qcow2_check_metadata_overlap), returning every overlapping type instead of the first.</summary>
    public OverlapTypes ScanOverlaps(OverlapTypes ignore, long offset, long size)
    {
        var chk = _overlapCheck & ~ignore;
        var hits = OverlapTypes.None;
        if (size == 0 || chk == OverlapTypes.None)
        {
            return hits;
        }
        if ((chk & OverlapTypes.MainHeader) != 0 && offset < _clusterSize)
        {
            hits |= OverlapTypes.MainHeader;
        }
        size = RoundUp(OffsetIntoCluster(offset) + size, _clusterSize);
        offset = StartOfCluster(offset);
        long end = offset + size;
        ForEachMetadataRange(chk & ~OverlapTypes.MainHeader, (start, len, type) =>
        {
            if ((hits & type) == 0 && start < end && offset < start + len)
            {
                hits |= type;
            }
        });
        return hits;
    }

    /// <summary>
    /// Calls visit(start, length, type) for every metadata structure of the given types, enumerated as upstream's scan
    /// enumerates them: the header cluster, active L1, refcount table, snapshot table, inactive L1 tables, active L2
    /// tables (from the in-memory L1), refcount blocks (up to the highest used reftable entry), inactive L2 tables
    /// (snapshot L1 tables read from the file) and the bitmap directory.
    /// </summary>
    internal void ForEachMetadataRange(OverlapTypes types, Action<long, long, OverlapTypes> visit)
    {
        if ((types & OverlapTypes.MainHeader) != 0)
        {
            visit(0, _clusterSize, OverlapTypes.MainHeader);
        }
        if ((types & OverlapTypes.ActiveL1) != 0 && _l1Size > 0)
        {
            visit(_l1TableOffset, (long)_l1Size * 8, OverlapTypes.ActiveL1);
        }
        if ((types & OverlapTypes.RefcountTable) != 0 && _refcountTableSize > 0)
        {
            visit(_refcountTableOffset, _refcountTableSize * 8, OverlapTypes.RefcountTable);
        }
        if ((types & OverlapTypes.SnapshotTable) != 0 && _snapshotsSize > 0)
        {
            visit(_snapshotsOffset, _snapshotsSize, OverlapTypes.SnapshotTable);
        }
        if ((types & OverlapTypes.InactiveL1) != 0)
        {
            foreach (var sn in _snapshots)
            {
                if (sn.L1Size > 0)
                {
                    visit((long)sn.L1TableOffset, (long)sn.L1Size * 8, OverlapTypes.InactiveL1);
                }
            }
        }
        if ((types & OverlapTypes.ActiveL2) != 0)
        {
            for (int i = 0; i < _l1Size; i++)
            {
                long l2 = (long)(_l1Table[i] & L1Entry.OffsetMask);
                if (l2 != 0)
                {
                    visit(l2, _clusterSize, OverlapTypes.ActiveL2);
                }
            }
        }
        if ((types & OverlapTypes.RefcountBlock) != 0)
        {
            for (long i = 0; i <= _maxRefcountTableIndex && i < _refcountTableSize; i++)
            {
                long rb = (long)(_refcountTable[i] & RefcountTableEntryOffsetMask);
                if (rb != 0)
                {
                    visit(rb, _clusterSize, OverlapTypes.RefcountBlock);
                }
            }
        }
        if ((types & OverlapTypes.InactiveL2) != 0)
        {
            foreach (var sn in _snapshots)
            {
                if (sn.L1Size == 0 || InactiveL2StepError(sn) is not null)
                {
                    continue;
                }
                // QEMU reads each snapshot L1 table from the file on every check; so does the oracle, into one reused
                // buffer (a 64 TiB image has 1 MiB tables, and a fresh array per table per write was the scan's main cost),
                // decoding only the non-zero entries.
                TableScan.ForEachNonZero(_file, (long)sn.L1TableOffset, (int)sn.L1Size, (_, e) =>
                {
                    long l2 = (long)(e & L1Entry.OffsetMask);
                    if (l2 != 0)
                    {
                        visit(l2, _clusterSize, OverlapTypes.InactiveL2);
                    }
                });
            }
        }
        if ((types & OverlapTypes.BitmapDirectory) != 0 && (_header.AutoclearFeatures & Features.AutoclearBitmaps) != 0
            && _bitmapDirectorySize > 0)
        {
            visit(_bitmapDirectoryOffset, _bitmapDirectorySize, OverlapTypes.BitmapDirectory);
        }
    }

    /// <summary>The scan's view as a per-cluster type map of the first clusterCount clusters (the differential oracle).</summary>
    internal OverlapTypes[] ScanTypeMap(long clusterCount)
    {
        var map = new OverlapTypes[clusterCount];
        ForEachMetadataRange(_overlapCheck, (start, len, type) =>
        {
            long first = start >> _clusterBits;
            long last = Math.Min(clusterCount - 1, (start + len - 1) >> _clusterBits);
            for (long c = Math.Max(first, 0); c <= last; c++)
            {
                map[c] |= type;
            }
        });
        return map;
    }

    /// <summary>Refuses a write that would overlap metadata: marks the image corrupt and fails with EIO (qcow2_pre_write_overlap_check).</summary>
    private void PreWriteOverlapCheck(OverlapTypes ignore, long offset, long size)
    {
        var hits = FindOverlaps(ignore, offset, size);
        ReplayInactiveL2StepErrors(ignore, hits, offset, size);
        if (hits == OverlapTypes.None)
        {
            return;
        }
        string name = OverlapTypeInfo.Of(OverlapTypeInfo.FirstInScanOrder(hits)).Name;
        SignalCorruption(true, offset, size, $"Preventing invalid write on metadata (overlaps with {name})");
        throw new BlockIOException(Errno.EIO);
    }

    /// <summary>Writes a cached metadata table after checking it against everything but its own kind.</summary>
    private void WriteMetadataTable(long offset, byte[] data, OverlapTypes self, string debugEvent)
    {
        PreWriteOverlapCheck(self, offset, data.Length);
        _file.DebugEvent(debugEvent);
        _file.Write(offset, data);
    }

    /// <summary>Reports a corruption as qcow2_signal_corruption does: message, event, and for a fatal one the corrupt bit and an unusable image.</summary>
    private void SignalCorruption(bool fatal, long offset, long size, string message)
    {
        fatal = fatal && !_readOnly;
        if (_signaledCorruption && (!fatal || Corrupt))
        {
            return;
        }
        _options.Diagnostics.WriteLine(fatal
            ? $"qcow2: Marking image as corrupt: {message}; further corruption events will be suppressed"
            : $"qcow2: Image is corrupt: {message}; further non-fatal corruption events will be suppressed");
        _options.Diagnostics.Flush();
        var data = new List<KeyValuePair<string, object?>> { new("device", _options.DeviceName), new("msg", message) };
        if (offset >= 0)
        {
            data.Add(new("offset", offset));
        }
        if (!string.IsNullOrEmpty(_options.NodeName))
        {
            data.Add(new("node-name", _options.NodeName));
        }
        data.Add(new("fatal", fatal));
        if (size >= 0)
        {
            data.Add(new("size", size));
        }
        _options.Events?.Invoke(new QmpEvent("BLOCK_IMAGE_CORRUPTED", data));
        if (fatal)
        {
            MarkCorrupt();
            _unusable = true;
            if (!_inactivating)
            {
                _l2Cache.Clear();
                _refblockCache.Clear();
            }
        }
        _signaledCorruption = true;
    }

    /// <summary>Reads the bitmaps extension with QEMU's checks; false when QEMU drops it (no autoclear bit: the bitmaps are stale).</summary>
    private bool ReadBitmapsExtension(byte[] data)
    {
        if (data.Length != HeaderExtension.BitmapsSize)
        {
            throw new ImageOpenException("bitmaps_ext: Invalid extension length", Errno.EINVAL);
        }
        if ((_header.AutoclearFeatures & Features.AutoclearBitmaps) == 0)
        {
            // QEMU warns that the bitmaps are inconsistent, ignores the extension and drops it on a read-write open.
            return false;
        }
        uint nbBitmaps = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(HeaderExtension.BitmapsNbBitmapsOffset));
        ulong directorySize = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(HeaderExtension.BitmapsDirectorySizeOffset));
        ulong directoryOffset = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(HeaderExtension.BitmapsDirectoryOffsetOffset));
        string? error = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(HeaderExtension.BitmapsReservedOffset)) != 0 ? "bitmaps_ext: Reserved field is not zero"
            : nbBitmaps > MaxBitmaps ? $"bitmaps_ext: Image has {nbBitmaps} bitmaps, exceeding the QEMU supported maximum of {MaxBitmaps}"
            : nbBitmaps == 0 ? "found bitmaps extension with zero bitmaps"
            : (directoryOffset & (ulong)(_clusterSize - 1)) != 0 ? "bitmaps_ext: invalid bitmap directory offset"
            : directorySize > MaxBitmapDirectorySize ? $"bitmaps_ext: bitmap directory size ({directorySize}) exceeds the maximum supported size ({MaxBitmapDirectorySize})"
            : null;
        if (error is not null)
        {
            throw new ImageOpenException(error, Errno.EINVAL);
        }
        _nbBitmaps = nbBitmaps;
        _bitmapDirectorySize = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8));
        _bitmapDirectoryOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(16));
        return true;
    }
}
