namespace Qcow2.Overlap;

/// <summary>The state of one window of 4096 clusters: its type map while loaded, its fragment list otherwise.</summary>
/// <remarks>
/// Invariant (as in the series): <see cref="Fragments"/> is authoritative while <see cref="Map"/> is null; while the map
/// exists the map is authoritative, and the fragment list is stale if <see cref="MapModified"/> is set. A window whose
/// fragment list generation was abandoned keeps its map, has no fragments and is not in the cache.
/// </remarks>
internal sealed class MetadataWindow
{
    /// <summary>Creates the empty window with this index.</summary>
    public MetadataWindow(long index) => Index = index;

    /// <summary>Index of the window (first cluster = index * 4096).</summary>
    public long Index { get; }

    /// <summary>Fragment array; its length is the capacity the memory accounting charges (the series' fragments_array_size).</summary>
    public MetadataFragment[]? Fragments { get; set; }

    /// <summary>Number of used entries of <see cref="Fragments"/>.</summary>
    public int FragmentCount { get; set; }

    /// <summary>Capacity of the fragment array.</summary>
    public int FragmentCapacity => Fragments?.Length ?? 0;

    /// <summary>One type mask per cluster while loaded; 16 bits each so all ten types fit, with room for more (nominally 4096 bytes, really 8192).</summary>
    public ushort[]? Map { get; set; }

    /// <summary>The map changed since it was built, so eviction must regenerate the fragment list.</summary>
    public bool MapModified { get; set; }

    /// <summary>Value of the list's age counter at the last access; the LRU victim is the cached window with the smallest.</summary>
    public ulong Age { get; set; }

    /// <summary>The window occupies a cache slot.</summary>
    public bool InCache { get; set; }
}
