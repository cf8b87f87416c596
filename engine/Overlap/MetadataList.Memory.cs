namespace Qcow2.Overlap;

/// <content>Memory accounting with the series' nominal sizes (C structure sizes on x86-64).</content>
public sealed partial class MetadataList
{
    /// <summary>Nominal size of the list itself (sizeof(Qcow2MetadataList) on x86-64).</summary>
    public const int ListBytes = 56;

    /// <summary>Nominal size of one window record (sizeof(Qcow2MetadataWindow) on x86-64).</summary>
    public const int WindowBytes = 32;

    /// <summary>Nominal size of one cache slot (an int).</summary>
    public const int CacheSlotBytes = 4;

    /// <summary>Nominal size of a window map (the series' one byte per cluster).</summary>
    public const int MapBytes = WindowClusters;

    /// <summary>Nominal size of one fragment array entry.</summary>
    public const int FragmentBytes = 4;

    private readonly long _limit;
    private long _memoryUsage;

    /// <summary>Nominal bytes in use by the list, its windows, cache slots, maps and fragment arrays.</summary>
    public long MemoryUsage => _memoryUsage;

    /// <summary>The limit in nominal bytes; null when unlimited.</summary>
    public long? TotalSizeLimit => _limit == long.MaxValue ? null : _limit;

    /// <summary>Charges <paramref name="count"/> items of <paramref name="size"/> bytes if the limit allows (the series' increase_mdl_mem_usage).</summary>
    private bool Reserve(long size, long count)
    {
        if (count != 0 && size > long.MaxValue / count)
        {
            return false;
        }

        long bytes = size * count;
        if (bytes > _limit - _memoryUsage)
        {
            return false;
        }

        _memoryUsage += bytes;
        return true;
    }

    /// <summary>Charges memory that was released just before and therefore must fit.</summary>
    private void ReserveReleased(long size, long count)
    {
        if (!Reserve(size, count))
        {
            throw new InvalidOperationException("Metadata list memory accounting is inconsistent.");
        }
    }

    /// <summary>Recomputes the nominal usage from the structures (for tests: must equal <see cref="MemoryUsage"/>).</summary>
    internal long ComputeNominalUsage()
    {
        long total = ListBytes + WindowCount * WindowBytes + CacheSlots * CacheSlotBytes;
        foreach (var w in _windows.Values)
        {
            total += (w.Map != null ? MapBytes : 0) + (long)w.FragmentCapacity * FragmentBytes;
        }

        return total;
    }

    /// <summary>A snapshot of one window's state, for tests; null when the window was never touched.</summary>
    internal WindowState? InspectWindow(long index) =>
        _windows.TryGetValue(index, out var w)
            ? new WindowState(w.Map != null, w.InCache, w.MapModified, w.FragmentCount, w.FragmentCapacity, w.Age)
            : null;

    /// <summary>The fragments of a window, for tests.</summary>
    internal IReadOnlyList<(int Start, int Clusters, OverlapTypes Types)> InspectFragments(long index) =>
        _windows.TryGetValue(index, out var w) && w.Fragments != null
            ? w.Fragments.Take(w.FragmentCount).Select(f => (f.RelativeStart, f.Clusters, f.Types)).ToList()
            : [];

    /// <summary>Test view of a window.</summary>
    internal readonly record struct WindowState(bool HasMap, bool InCache, bool MapModified, int FragmentCount, int FragmentCapacity, ulong Age);
}
