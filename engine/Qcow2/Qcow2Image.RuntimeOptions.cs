using Qcow2.Block;
using Qcow2.Overlap;

namespace Qcow2;

/// <summary>The qcow2 driver's runtime options as open sets them and a reopen changes them (qcow2_update_options).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>The L2 table and refcount block caches, sized by the options or by QEMU's defaults (read_cache_sizes).</summary>
    private void CreateMetadataCaches()
    {
        int l2CacheTables = _runtimeOptions?.L2CacheTables ?? (int)Math.Clamp((32L << 20) / _clusterSize, 16, 4096);
        // qcow2_cache_do_get fires l2_load for an L2 table read from disk; qcow2_cache_entry_flush fires l2_update and
        // refblock_update_part before writing a table back.
        _l2Cache = new MetadataCache(_clusterSize, l2CacheTables, off =>
            {
                _file.DebugEvent("l2_load");
                return ReadFile(off, _clusterSize);
            },
            // An L2 table written through the cache may be active, inactive (a snapshot's) or both; QEMU ignores only
            // the active kind and so, with overlap-check=all, marks images corrupt during legitimate snapshot operations.
            (off, data) => WriteMetadataTable(off, data, OverlapTypes.ActiveL2 | OverlapTypes.InactiveL2, "l2_update"),
            () => _file.Flush());
        _refcounts.Cache = new MetadataCache(_clusterSize, _runtimeOptions?.RefcountCacheTables ?? Math.Max(4, l2CacheTables / 4),
            off => ReadFile(off, _clusterSize),
            (off, data) => WriteMetadataTable(off, data, OverlapTypes.RefcountBlock, "refblock_update_part"),
            () => _file.Flush());
    }

    /// <summary>
    /// qcow2_reopen_prepare's check of a reopen's options for this node: the qcow2 options among them are parsed as at open
    /// (same messages). Returns the keys the driver takes; the caller compares the rest with the old values.
    /// </summary>
    internal HashSet<string> CheckReopenOptions(IReadOnlyDictionary<string, string> nodeOptions)
    {
        var driverOptions = DriverOptions(nodeOptions);
        Qcow2RuntimeOptions.Parse(driverOptions, _header, _clusterSize);
        return [.. driverOptions.Keys];
    }

    /// <summary>
    /// Changes the runtime options of the open image in place, as a reopen that keeps it read-write does: the node is
    /// flushed, the caches written and built anew with their new sizes, lazy refcounts turned off make the image clean
    /// first, and the overlap checks are chosen again. <paramref name="options"/> are all of the node's options (those
    /// it does not take stay as they were); a refused option throws before anything changes.
    /// </summary>
    public void Reopen(IReadOnlyDictionary<string, string> options, bool writeThrough)
    {
        var runtime = Qcow2RuntimeOptions.Parse(DriverOptions(options), _header, _clusterSize);
        if (_readOnly)
        {
            Apply();
            return;
        }
        FlushCaches();
        _l2Cache.Flush();
        _refcounts.Cache.Flush();
        if (UseLazyRefcounts && !(runtime.LazyRefcounts ?? LazyRefcounts) && Dirty)
        {
            MarkClean();
        }
        Apply();

        void Apply()
        {
            _options.Options.Clear();
            foreach (var (k, v) in options)
            {
                _options.Options[k] = v;
            }
            _options.WriteThrough = writeThrough;
            ApplyOptions();
            CreateMetadataCaches();
            _tracker = NoMetadataTracker.Instance;
            _trackedTypes = OverlapTypes.None;
            CreateOverlapStructures();
        }
    }

    private static Dictionary<string, string> DriverOptions(IReadOnlyDictionary<string, string> options) =>
        options.Where(kv => Qcow2RuntimeOptions.IsDriverOption(kv.Key)).ToDictionary(StringComparer.Ordinal);
}
