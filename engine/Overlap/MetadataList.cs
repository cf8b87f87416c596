namespace Qcow2.Overlap;

/// <summary>
/// The metadata list of the series "qcow2: Add new overlap check functions" (v4): which metadata structures each cluster of
/// the image file holds, so that an overlap check costs time proportional to the request, not to the image.
/// </summary>
/// <remarks>
/// <para><b>Structure.</b> The file is cut into windows of <see cref="WindowClusters"/> clusters. A loaded window has a map
/// with one type mask per cluster; an unloaded one keeps a fragment list of 4-byte runs (<see cref="MetadataFragment"/>).
/// Up to <see cref="CacheSlots"/> windows are loaded at a time (bitmap-size / 4096, at least 1); the least recently used one
/// is evicted, its fragment list regenerated if the map changed. Generation is abandoned when the fragment array would reach
/// 4096 bytes (the growth 0, 1, 2, 4, 7, ..., 472, 709, 1064 hits 1064 entries, so from 710 runs on a fresh window): the
/// window then keeps its map outside the cache for good, exactly as in the series.</para>
/// <para><b>Map width.</b> The series' map is a byte map (8 types). Upstream later added the bitmap directory as bit 8, and this
/// engine the crypto header as bit 9, so this map holds a <see cref="ushort"/> per cluster (8192 real bytes), while the memory
/// accounting charges the series' nominal 4096 so that its thresholds (iotest 060) behave identically.</para>
/// <para><b>Memory accounting.</b> Fixed nominal sizes: list <see cref="ListBytes"/>, window <see cref="WindowBytes"/> each
/// (charged for every window up to <see cref="WindowCount"/>, loaded or not), cache slot <see cref="CacheSlotBytes"/> each,
/// map <see cref="MapBytes"/>, fragment <see cref="FragmentBytes"/> per array entry (capacity, not count).
/// When the limit refuses memory the callback receives (start, length) in bytes of the image file, and that range goes
/// unchecked, at the places the series emits QCOW2_OVERLAP_CHECK_MEMORY_LIMIT_REACHED:
/// <c>Enter</c> growing the window array (nothing entered from there on), <c>Enter</c> loading a window (that window skipped),
/// <c>Remove</c> loading a window (its whole fragment list dropped, since the removal must not be lost), <c>Check</c> loading
/// a window (that window reports nothing).</para>
/// <para><b>Decisions on the series' quirks (overlap-series.md §2.8 and the code).</b></para>
/// <list type="number">
/// <item>Shrink-path accounting: the series subtracts entries instead of bytes. Fixed: bytes are subtracted, so
/// <see cref="MemoryUsage"/> always equals the nominal size of what exists (the tests recompute it).</item>
/// <item>Cache slot reassigned before the map allocation succeeds. Fixed: the victim is evicted first, and the slot is given to
/// the new window only once its map is allocated; on failure the slot stays free. No slot ever names a window without a map,
/// and no window is in two slots. Observable results of the series' tests are unchanged.</item>
/// <item>Kept maps (fragment generation abandoned) live outside the cache and are never evicted again: kept, as in the series;
/// the map is no larger than the fragment list would be, and it stays charged to the limit.</item>
/// <item>Age counters: the series uses wrapping 32-bit unsigned ages compared by difference. Here ages are 64-bit and never
/// wrap; the victim is the cached window with the smallest age (the same choice while no wrap occurs).</item>
/// <item>Unaligned <c>Enter</c> is ignored ("apparently broken metadata"), unaligned <c>Remove</c> is widened by one cluster:
/// kept, as in the series.</item>
/// <item>The window array only grows; its initial size comes from the file length at creation: kept.</item>
/// <item>Window-growth failure in <c>Enter</c>: the series reports start = the first window's start with length = the clusters
/// left from the current cluster, which misses the tail when the request starts inside a window. Fixed: start is the first
/// cluster not entered, so the event covers exactly the unentered clusters.</item>
/// <item><c>Check</c> with a window that cannot be loaded: the series emits one event per cluster of the request; here one event
/// per window per call (the same range, without duplicates).</item>
/// <item><c>Check</c> returns the OR of every overlapping type, not masked by the enabled set (only enabled types are entered),
/// with no special case for size 0 (an unaligned offset with size 0 touches one cluster) and no header rule; the upstream
/// edge rules live in <see cref="MetadataListChecker"/>. Callers name the lowest bit (<see cref="OverlapTypeInfo.LowestName"/>).</item>
/// <item>Windows are loaded for every access, even when empty (a check of pure guest data still loads its window), because the
/// series' memory-limit test (a 4220-byte limit) depends on it.</item>
/// </list>
/// <para>Not thread-safe: the engine must serialize calls, as QEMU does under the qcow2 lock.</para>
/// </remarks>
public sealed partial class MetadataList
{
    /// <summary>Clusters per window (the series' WINDOW_SIZE).</summary>
    public const int WindowClusters = 4096;

    private const int WindowShift = 12;

    private readonly Dictionary<long, MetadataWindow> _windows = [];
    private readonly Action<long, long>? _memoryLimitReached;
    private MetadataWindow? _lastWindow;
    private ulong _currentAge;

    private MetadataList(int clusterBits, OverlapTypes enabled, long limit, long cacheSlots, Action<long, long>? memoryLimitReached)
    {
        ClusterBits = clusterBits;
        Enabled = enabled;
        _limit = limit;
        CacheSlots = cacheSlots;
        _memoryLimitReached = memoryLimitReached;
    }

    /// <summary>log2 of the cluster size.</summary>
    public int ClusterBits { get; }

    /// <summary>The types entered and removed; others are masked out of <see cref="Enter"/> and <see cref="Remove"/>.</summary>
    public OverlapTypes Enabled { get; }

    /// <summary>Number of windows the list covers (grows when metadata is entered past the end).</summary>
    public long WindowCount { get; private set; }

    /// <summary>
    /// Creates an empty list for an image file of <paramref name="fileLength"/> bytes; throws <see cref="ImageOpenException"/>
    /// with the series' message when <paramref name="totalSizeLimit"/> cannot hold the list, its windows or its cache slots.
    /// </summary>
    /// <param name="clusterBits">log2 of the cluster size (9..21).</param>
    /// <param name="fileLength">Length of the image file now; gives the initial window count.</param>
    /// <param name="mapCacheBytes">Bytes of map cache (overlap-structures.bitmap-size); slots = bytes / 4096, at least 1.</param>
    /// <param name="totalSizeLimit">Limit for all structures in nominal bytes; null for unlimited.</param>
    /// <param name="enabled">Types to track (the overlap-check options).</param>
    /// <param name="memoryLimitReached">Called with (start, length) in bytes when the limit leaves a range unchecked.</param>
    public static MetadataList Create(int clusterBits, long fileLength, long mapCacheBytes, long? totalSizeLimit,
        OverlapTypes enabled, Action<long, long>? memoryLimitReached)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clusterBits, MinClusterBits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clusterBits, MaxClusterBits);
        ArgumentOutOfRangeException.ThrowIfNegative(fileLength);
        ArgumentOutOfRangeException.ThrowIfNegative(mapCacheBytes);
        if (totalSizeLimit is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalSizeLimit), totalSizeLimit, "The limit must not be negative.");
        }

        long limit = totalSizeLimit ?? long.MaxValue;
        if (limit < ListBytes)
        {
            throw new ImageOpenException("Cannot allocate metadata list", Errno.ENOMEM);
        }

        long slots = Math.Max(1, mapCacheBytes / MapBytes);
        var list = new MetadataList(clusterBits, enabled & OverlapTypeInfo.AllBits, limit, slots, memoryLimitReached)
        {
            _memoryUsage = ListBytes,
        };

        long windowBytes = (long)WindowClusters << clusterBits;
        long windows = fileLength / windowBytes + (fileLength % windowBytes != 0 ? 1 : 0);
        if (!list.Reserve(WindowBytes, windows))
        {
            throw new ImageOpenException("Cannot allocate metadata overlap check windows", Errno.ENOMEM);
        }

        list.WindowCount = windows;
        if (!list.Reserve(CacheSlotBytes, slots))
        {
            throw new ImageOpenException("Cannot allocate metadata overlap cache pointers", Errno.ENOMEM);
        }

        return list;
    }

    /// <summary>
    /// Marks <paramref name="nbClusters"/> clusters from <paramref name="offset"/> as holding <paramref name="types"/>
    /// (masked with <see cref="Enabled"/>); an unaligned offset is ignored, as in the series.
    /// </summary>
    public void Enter(long offset, long nbClusters, OverlapTypes types)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(nbClusters);
        types &= Enabled;
        if (types == OverlapTypes.None || (offset & ClusterMask) != 0)
        {
            return;
        }

        long current = offset >> ClusterBits;
        long end = checked(current + nbClusters);
        while (current < end)
        {
            long windowIndex = current >> WindowShift;
            int first = (int)(current & (WindowClusters - 1));
            int last = (int)Math.Min(WindowClusters, end - current + first);
            if (windowIndex >= WindowCount)
            {
                if (!Reserve(WindowBytes, windowIndex + 1 - WindowCount))
                {
                    SignalMemoryExcess(current, end - current);
                    return;
                }

                WindowCount = windowIndex + 1;
            }

            var window = GetWindow(windowIndex);
            if (window.Map != null || LoadWindow(window))
            {
                ushort bits = (ushort)types;
                var map = window.Map!;
                for (int i = first; i < last; i++)
                {
                    map[i] |= bits;
                }

                window.Age = _currentAge++;
                window.MapModified = true;
            }
            else
            {
                SignalMemoryExcess(windowIndex << WindowShift, WindowClusters);
            }

            current += WindowClusters - first;
        }
    }

    /// <summary>
    /// Clears <paramref name="types"/> (masked with <see cref="Enabled"/>) from <paramref name="nbClusters"/> clusters from
    /// <paramref name="offset"/>; an unaligned offset widens the range by one cluster, as in the series.
    /// </summary>
    public void Remove(long offset, long nbClusters, OverlapTypes types)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(nbClusters);
        types &= Enabled;
        if (types == OverlapTypes.None)
        {
            return;
        }

        long current = offset >> ClusterBits;
        long end = checked(current + nbClusters + ((offset & ClusterMask) != 0 ? 1 : 0));
        while (current < end)
        {
            long windowIndex = current >> WindowShift;
            int first = (int)(current & (WindowClusters - 1));
            int last = (int)Math.Min(WindowClusters, end - current + first);
            if (windowIndex >= WindowCount)
            {
                return; // nothing was ever entered there, and later windows are further out
            }

            var window = GetWindow(windowIndex);
            if (window.Map != null || LoadWindow(window))
            {
                ushort keep = (ushort)~(ushort)types;
                var map = window.Map!;
                for (int i = first; i < last; i++)
                {
                    map[i] &= keep;
                }

                window.Age = _currentAge++;
                window.MapModified = true;
            }
            else
            {
                SignalMemoryExcess(windowIndex << WindowShift, WindowClusters);
                DropFragments(window); // the removal must not be lost, so forget everything about the window
            }

            current += WindowClusters - first;
        }
    }

    /// <summary>
    /// The OR of the types of every cluster that [offset, offset + size) touches, without <paramref name="ignore"/>;
    /// windows the memory limit keeps from loading contribute nothing.
    /// </summary>
    public OverlapTypes FindOverlaps(OverlapTypes ignore, long offset, long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        long current = offset >> ClusterBits;
        long endByte = checked(offset + size);
        long end = (endByte >> ClusterBits) + ((endByte & ClusterMask) != 0 ? 1 : 0);
        int result = 0;
        while (current < end)
        {
            long windowIndex = current >> WindowShift;
            if (windowIndex >= WindowCount)
            {
                break;
            }

            int first = (int)(current & (WindowClusters - 1));
            int last = (int)Math.Min(WindowClusters, end - current + first);
            var window = GetWindow(windowIndex);
            if (window.Map != null || LoadWindow(window))
            {
                window.Age = _currentAge++;
                var map = window.Map!;
                for (int i = first; i < last; i++)
                {
                    result |= map[i];
                }
            }
            else
            {
                SignalMemoryExcess(windowIndex << WindowShift, WindowClusters);
            }

            current += WindowClusters - first;
        }

        return (OverlapTypes)result & ~ignore;
    }

    private long ClusterMask => (1L << ClusterBits) - 1;

    private MetadataWindow GetWindow(long index)
    {
        var last = _lastWindow;
        if (last != null && last.Index == index)
        {
            return last;
        }

        if (!_windows.TryGetValue(index, out var window))
        {
            window = new MetadataWindow(index);
            _windows.Add(index, window);
        }

        _lastWindow = window;
        return window;
    }

    private void SignalMemoryExcess(long startCluster, long clusters) =>
        _memoryLimitReached?.Invoke(startCluster << ClusterBits, clusters << ClusterBits);
}
