namespace Qcow2.Overlap;

/// <content>The window cache: loading a window's map from its fragments, and evicting it back into a fragment list.</content>
public sealed partial class MetadataList
{
    private readonly List<MetadataWindow> _cache = [];

    /// <summary>Number of windows that may hold a map in the cache at the same time.</summary>
    public long CacheSlots { get; }

    /// <summary>Number of windows currently in the cache.</summary>
    public int CachedWindowCount => _cache.Count;

    /// <summary>Gives <paramref name="window"/> a map and a cache slot, evicting the least recently used window if the cache is full.</summary>
    /// <returns>False when the memory limit refuses the map; the window is then left as it was and no slot is taken.</returns>
    private bool LoadWindow(MetadataWindow window)
    {
        if (_cache.Count >= CacheSlots)
        {
            int victim = 0;
            for (int i = 1; i < _cache.Count; i++)
            {
                if (_cache[i].Age < _cache[victim].Age)
                {
                    victim = i;
                }
            }

            var evicted = _cache[victim];
            _cache[victim] = _cache[^1];
            _cache.RemoveAt(_cache.Count - 1);
            evicted.InCache = false;
            EvictMap(evicted);
        }

        if (!Reserve(MapBytes, 1))
        {
            return false;
        }

        var map = new ushort[WindowClusters];
        var fragments = window.Fragments;
        for (int i = 0; i < window.FragmentCount; i++)
        {
            var f = fragments![i];
            map.AsSpan(f.RelativeStart, f.Clusters).Fill((ushort)f.Types);
        }

        window.Map = map;
        window.MapModified = false;
        window.Age = _currentAge++;
        window.InCache = true;
        _cache.Add(window);
        return true;
    }

    /// <summary>Frees a window's map, first regenerating its fragment list if the map changed (the series' destroy_window_bitmap).</summary>
    private void EvictMap(MetadataWindow window)
    {
        var map = window.Map;
        if (map == null)
        {
            return;
        }

        // Treat the map as freed already: this makes room for the fragment array, which is always smaller.
        _memoryUsage -= MapBytes;
        if (window.MapModified && !RegenerateFragments(window, map))
        {
            // Abandoned: the fragment list would be no smaller than the map, so the window keeps its map (outside the cache).
            ReserveReleased(MapBytes, 1);
            return;
        }

        int capacity = window.FragmentCapacity;
        if (window.FragmentCount < capacity / 2)
        {
            // Shrink to fit. The series subtracted entries here, not bytes; this port subtracts bytes.
            var shrunk = window.FragmentCount == 0 ? null : window.Fragments![..window.FragmentCount];
            _memoryUsage -= (long)(capacity - window.FragmentCount) * FragmentBytes;
            window.Fragments = shrunk;
        }

        window.Map = null;
    }

    /// <summary>Rebuilds the fragment list from the map, growing the array as the series does (size * 3 / 2 + 1).</summary>
    /// <returns>False when generation was abandoned because the array would reach the map's nominal size; the fragments are then gone.</returns>
    private bool RegenerateFragments(MetadataWindow window, ushort[] map)
    {
        var fragments = window.Fragments;
        int capacity = window.FragmentCapacity;
        int count = 0;
        ushort runTypes = 0;
        int runLength = 0;
        for (int i = 0; i <= WindowClusters; i++)
        {
            if (i < WindowClusters && map[i] == runTypes && runLength < MetadataFragment.MaxClusters)
            {
                runLength++;
                continue;
            }

            if (runTypes != 0 && runLength != 0)
            {
                if (count >= capacity)
                {
                    _memoryUsage -= (long)capacity * FragmentBytes;
                    int newCapacity = 3 * capacity / 2 + 1;
                    if ((long)newCapacity * FragmentBytes >= MapBytes)
                    {
                        window.Fragments = null;
                        window.FragmentCount = 0;
                        return false;
                    }

                    ReserveReleased(FragmentBytes, newCapacity); // smaller than the map bytes just released
                    Array.Resize(ref fragments, newCapacity);
                    capacity = newCapacity;
                }

                fragments![count++] = new MetadataFragment(i - runLength, runLength, (OverlapTypes)runTypes);
            }

            runLength = 1;
            if (i < WindowClusters)
            {
                runTypes = map[i];
            }
        }

        window.Fragments = fragments;
        window.FragmentCount = count;
        return true;
    }

    /// <summary>Forgets a window's fragment list (Remove under memory pressure).</summary>
    private void DropFragments(MetadataWindow window)
    {
        _memoryUsage -= (long)window.FragmentCapacity * FragmentBytes;
        window.Fragments = null;
        window.FragmentCount = 0;
    }
}
