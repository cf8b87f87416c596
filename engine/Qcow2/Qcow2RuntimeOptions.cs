using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

/// <summary>
/// The qcow2 driver's open options (qcow2_runtime_opts) as qcow2_update_options_prepare checks them, with QEMU 7.2's
/// messages and order: every typed value while the options are absorbed (in QDict order), the cache sizes
/// (read_cache_sizes), the cache clean interval, lazy refcounts, the overlap checks, the encryption format, and last
/// the options no driver took ("Block format 'qcow2' does not support the option 'x'").
/// </summary>
internal sealed record Qcow2RuntimeOptions
{
    private const string CacheSize = "cache-size", L2CacheSize = "l2-cache-size", L2CacheEntrySize = "l2-cache-entry-size",
        RefcountCacheSize = "refcount-cache-size", CacheCleanInterval = "cache-clean-interval", LazyRefcountsOption = "lazy-refcounts";

    private static readonly string[] Bools = [LazyRefcountsOption, "pass-discard-request", "pass-discard-snapshot", "pass-discard-other"];
    private static readonly string[] Sizes = [CacheSize, L2CacheSize, L2CacheEntrySize, RefcountCacheSize];

    /// <summary>DEFAULT_L2_CACHE_MAX_SIZE on Linux: the L2 cache covers the image up to this many bytes.</summary>
    private const ulong DefaultL2CacheMaxSize = 32UL << 20;

    /// <summary>MIN_L2_CACHE_SIZE and MIN_REFCOUNT_CACHE_SIZE, in tables.</summary>
    private const int MinL2Tables = 2, MinRefcountTables = 4;

    /// <summary>L2 tables the cache holds, when a cache option set it; null for the engine's default.</summary>
    public int? L2CacheTables { get; init; }

    /// <summary>Refcount blocks the cache holds, when a cache option set it; null for the engine's default.</summary>
    public int? RefcountCacheTables { get; init; }

    /// <summary>lazy-refcounts: the option's value, or null to follow the image's compatible feature bit.</summary>
    public bool? LazyRefcounts { get; init; }

    /// <summary>The overlap-check options.</summary>
    public required OverlapCheckOptions Overlap { get; init; }

    /// <summary>Whether a key is one of the qcow2 driver's own options.</summary>
    public static bool IsDriverOption(string key) =>
        Bools.Contains(key) || Sizes.Contains(key) || key == CacheCleanInterval || OverlapCheckOptions.IsOverlapOption(key)
        || key.StartsWith("encrypt.", StringComparison.Ordinal)
        || key == "data-file" || key.StartsWith("data-file.", StringComparison.Ordinal);

    /// <summary>Checks and reads the qcow2 options of an image with the given header; throws <see cref="ImageOpenException"/>.</summary>
    public static Qcow2RuntimeOptions Parse(IReadOnlyDictionary<string, string> options, Header header, int clusterSize)
    {
        foreach (string key in QemuOptionSyntax.InQdictOrder(options.Keys.Where(IsDriverOption)))
        {
            CheckType(key, options[key]);
        }
        var (l2Tables, refcountTables) = CacheTables(options, header, clusterSize);
        if (options.TryGetValue(CacheCleanInterval, out string? interval) && BlockOptions.ParseNumber(CacheCleanInterval, interval) > uint.MaxValue)
        {
            throw new ImageOpenException("Cache clean interval too big");
        }
        bool? lazy = options.TryGetValue(LazyRefcountsOption, out string? l) ? QemuOptionSyntax.ParseBool(LazyRefcountsOption, l) : null;
        if ((lazy ?? (header.CompatibleFeatures & Features.CompatLazyRefcounts) != 0) && header.Version < 3)
        {
            throw new ImageOpenException("Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level");
        }
        var overlap = OverlapCheckOptions.Parse(options);
        if (options.TryGetValue("encrypt.format", out string? encryptFormat))
        {
            string? expected = header.CryptMethod switch { 1 => "aes", 2 => "luks", _ => null };
            if (expected is null)
            {
                throw new ImageOpenException($"No encryption in image header, but options specified format '{encryptFormat}'");
            }
            if (encryptFormat != expected)
            {
                throw new ImageOpenException($"Header reported '{expected}' encryption format but options specify '{encryptFormat}'");
            }
        }
        foreach (string key in QemuOptionSyntax.InQdictOrder(options.Keys))
        {
            if (!IsDriverOption(key) && !BlockOptions.IsNodeOption(key))
            {
                throw new ImageOpenException($"Block format 'qcow2' does not support the option '{key}'");
            }
        }
        return new Qcow2RuntimeOptions { L2CacheTables = l2Tables, RefcountCacheTables = refcountTables, LazyRefcounts = lazy, Overlap = overlap };
    }

    /// <summary>The type check QEMU makes while it absorbs one option.</summary>
    private static void CheckType(string key, string value)
    {
        if (Bools.Contains(key))
        {
            QemuOptionSyntax.ParseBool(key, value);
        }
        else if (Sizes.Contains(key))
        {
            QemuOptionSyntax.ParseSize(key, value);
        }
        else if (key == CacheCleanInterval)
        {
            BlockOptions.ParseNumber(key, value);
        }
        else if (OverlapCheckOptions.IsOverlapOption(key) && key is not ("overlap-check" or "overlap-check.template"))
        {
            OverlapCheckOptions.Parse([new KeyValuePair<string, string>(key, value)]);
        }
    }

    /// <summary>
    /// read_cache_sizes and the limits after it: the L2 and refcount cache sizes in tables when an option sets them (null
    /// otherwise), with QEMU's messages for conflicting, misshapen or impossible sizes.
    /// </summary>
    private static (int? L2, int? Refcount) CacheTables(IReadOnlyDictionary<string, string> options, Header header, int clusterSize)
    {
        ulong? Get(string key) => options.TryGetValue(key, out string? v) ? QemuOptionSyntax.ParseSize(key, v) : null;
        ulong? combined = Get(CacheSize), l2Setting = Get(L2CacheSize), refcount = Get(RefcountCacheSize), entry = Get(L2CacheEntrySize);
        ulong maxL2Cache = RoundUp(DivRoundUp(header.Size, (ulong)clusterSize) * (ulong)L2Entry.EntrySize(header), (ulong)clusterSize);
        ulong l2 = Math.Min(maxL2Cache, l2Setting ?? DefaultL2CacheMaxSize);
        ulong rc = refcount ?? 0;
        ulong minRefcount = (ulong)(MinRefcountTables * clusterSize);
        if (combined is ulong c)
        {
            if (l2Setting is not null && refcount is not null)
            {
                throw new ImageOpenException("cache-size, l2-cache-size and refcount-cache-size may not be set at the same time");
            }
            if (l2Setting > c)
            {
                throw new ImageOpenException("l2-cache-size may not exceed cache-size");
            }
            if (rc > c)
            {
                throw new ImageOpenException("refcount-cache-size may not exceed cache-size");
            }
            if (l2Setting is not null)
            {
                rc = c - l2;
            }
            else if (refcount is not null)
            {
                l2 = c - rc;
            }
            else if (c >= maxL2Cache + minRefcount)
            {
                (l2, rc) = (maxL2Cache, c - maxL2Cache);
            }
            else
            {
                rc = Math.Min(c, minRefcount);
                l2 = c - rc;
            }
        }
        ulong entrySize = entry ?? (l2 < maxL2Cache ? Math.Min((ulong)clusterSize, 4096) : (ulong)clusterSize);
        if (entrySize < 1UL << Limits.MinClusterBits || entrySize > (ulong)clusterSize || !ulong.IsPow2(entrySize))
        {
            throw new ImageOpenException(
                $"L2 cache entry size must be a power of two between {1 << Limits.MinClusterBits} and the cluster size ({clusterSize})");
        }
        ulong l2Entries = Math.Max(l2 / entrySize, MinL2Tables), refcountBlocks = Math.Max(rc / (ulong)clusterSize, MinRefcountTables);
        if (l2Entries > int.MaxValue)
        {
            throw new ImageOpenException("L2 cache size too big");
        }
        if (refcountBlocks > int.MaxValue)
        {
            throw new ImageOpenException("Refcount cache size too big");
        }
        // qcow2_cache_create allocates the whole cache at once; the host refuses what exceeds its memory.
        ulong available = (ulong)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (l2Entries * entrySize > available || refcountBlocks * (ulong)clusterSize > available)
        {
            throw new ImageOpenException("Could not allocate metadata caches", Errno.ENOMEM);
        }
        if (combined is null && l2Setting is null && refcount is null && entry is null)
        {
            return (null, null);
        }
        // This engine caches whole tables: the same bytes in tables of the cluster size.
        return ((int)Math.Max(l2Entries * entrySize / (ulong)clusterSize, MinL2Tables),
            refcount is null && combined is null ? null : (int)refcountBlocks);
    }

    private static ulong DivRoundUp(ulong n, ulong d) => n / d + (n % d != 0 ? 1UL : 0);

    private static ulong RoundUp(ulong n, ulong d) => DivRoundUp(n, d) * d;
}
