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
    private Qcow2RuntimeOptions? _runtimeOptions;
    /// <summary>Answers the overlap checks: the linear scan from the options' parse, the metadata list's checker once it is built.</summary>
    private IOverlapChecker _checker = null!;
    /// <summary>Told where metadata structures are allocated, moved and freed; records nothing until the metadata list is built.</summary>
    private IMetadataTracker _tracker = NoMetadataTracker.Instance;
    /// <summary>The types <see cref="_tracker"/> records (None for the no-op tracker), so that no table is read only to tell it.</summary>
    private OverlapTypes _trackedTypes;
    /// <summary>QCOW2_MAX_BITMAPS: the most bitmaps QEMU accepts in an image.</summary>
    internal const uint MaxBitmaps = 65535;
    /// <summary>QCOW2_MAX_BITMAP_DIRECTORY_SIZE: the largest bitmap directory QEMU accepts.</summary>
    internal const ulong MaxBitmapDirectorySize = 1024UL * MaxBitmaps;

    /// <summary>Whether checks use the series' metadata list (true) or upstream's linear scan (false).</summary>
    internal bool UsesMetadataList => MetadataList is not null;

    /// <summary>The metadata list, when the image uses one (its memory use and limit are public).</summary>
    public MetadataList? MetadataList => (_checker as MetadataListChecker)?.List;

    private void ApplyOptions()
    {
        _runtimeOptions = Qcow2RuntimeOptions.Parse(_options.Options, _header, _clusterSize);
        _overlapOptions = _runtimeOptions.Overlap;
        _overlapCheck = _overlapOptions.Enabled;
        // Open's own writes (the header update, bitmap loading) come before the metadata list exists: the scan checks them.
        _checker = new LinearScanChecker(_clusterBits, _overlapCheck, ForEachMetadataStructure);
    }

    /// <summary>
    /// Chooses the overlap checker and tracker the options ask for, once at open (and again when the image is emptied): in
    /// list mode builds the series' metadata list and enters every structure of the enumeration; in scan mode keeps the
    /// linear scan and the no-op tracker.
    /// </summary>
    private void CreateOverlapStructures()
    {
        var list = _overlapOptions.CreateMetadataList(_clusterBits, _file.Length, SignalMemoryExcess);
        if (list is null)
        {
            return;
        }
        _checker = new MetadataListChecker(list);
        _tracker = new MetadataListTracker(list);
        _trackedTypes = list.Enabled;
        // Without a memory limit entering cannot fail and is idempotent, so the inactive L2 tables that snapshots share are
        // entered once each, in file order, after the snapshots' L1 tables (one pass over the windows instead of cache churn
        // per snapshot). With a limit the enumeration's order is kept, because it decides which ranges go unchecked and
        // which events are emitted.
        var deferredL2 = list.TotalSizeLimit is null ? new HashSet<long>() : null;
        ForEachMetadataStructure(_trackedTypes, (offset, bytes, type) =>
        {
            if (deferredL2 is not null && type == OverlapTypes.InactiveL2)
            {
                deferredL2.Add(offset);
                return;
            }
            if (deferredL2 is { Count: > 0 } && type != OverlapTypes.InactiveL1)
            {
                EnterDeferredL2(deferredL2);
            }
            _tracker.Enter(offset, bytes, type);
        });
        if (deferredL2 is { Count: > 0 })
        {
            EnterDeferredL2(deferredL2);
        }
    }

    private void EnterDeferredL2(HashSet<long> l2Tables)
    {
        foreach (long l2 in l2Tables.Order())
        {
            _tracker.Enter(l2, _clusterSize, OverlapTypes.InactiveL2);
        }
        l2Tables.Clear();
    }

    private void NoteRefcountTableMoved(long oldOffset, long oldBytes)
    {
        _tracker.Remove(oldOffset, oldBytes, OverlapTypes.RefcountTable);
        _tracker.Enter(_refcounts.TableOffset, _refcounts.TableSize * 8, OverlapTypes.RefcountTable);
        for (long i = 0; i < _refcounts.TableSize; i++)
        {
            long rb = (long)(_refcounts.Table[i] & RefcountTableEntryOffsetMask);
            if (rb != 0)
            {
                _tracker.Enter(rb, _clusterSize, OverlapTypes.RefcountBlock);
            }
        }
    }

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
    public OverlapTypes FindOverlaps(OverlapTypes ignore, long offset, long size) => _checker.FindOverlaps(ignore, offset, size);

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
                _refcounts.Cache.Clear();
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
        _bitmapDirectory.Set(nbBitmaps, (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(16)),
            (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8)));
        return true;
    }
}
