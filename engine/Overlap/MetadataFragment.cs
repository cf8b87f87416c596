namespace Qcow2.Overlap;

/// <summary>One run of equally-typed clusters inside a window: the 4-byte entry of a window's compressed fragment list.</summary>
/// <remarks>
/// The series packs {types u8, nb_clusters_minus_one u8, relative_start u16}. Ten types do not fit a u8, so this port packs
/// the same 4 bytes differently: bits 0-11 relative start (a window has 4096 clusters, so 12 bits suffice where the series
/// spent 16), bits 12-19 cluster count minus one (1..256 clusters, as in the series), bits 20-31 the type bits (ten used,
/// room for twelve). No separate rule for the bitmap directory is needed, and the nominal size stays 4 bytes.
/// </remarks>
internal readonly struct MetadataFragment
{
    /// <summary>Most clusters one fragment covers (the series' u8 count minus one).</summary>
    public const int MaxClusters = 256;

    private const int StartBits = 12;
    private const int CountBits = 8;
    private const uint StartMask = (1u << StartBits) - 1;
    private const uint CountMask = (1u << CountBits) - 1;
    private const int TypesShift = StartBits + CountBits;

    private readonly uint _raw;

    /// <summary>Packs a fragment.</summary>
    public MetadataFragment(int relativeStart, int clusters, OverlapTypes types)
    {
        if ((uint)relativeStart >= MetadataList.WindowClusters || clusters < 1 || clusters > MaxClusters
            || relativeStart + clusters > MetadataList.WindowClusters || types == OverlapTypes.None)
        {
            throw new ArgumentOutOfRangeException(nameof(relativeStart), $"Bad fragment {relativeStart}+{clusters} {types}");
        }

        _raw = (uint)relativeStart | ((uint)(clusters - 1) << StartBits) | ((uint)types << TypesShift);
    }

    /// <summary>First cluster, relative to the window start.</summary>
    public int RelativeStart => (int)(_raw & StartMask);

    /// <summary>Number of clusters (1..256).</summary>
    public int Clusters => (int)((_raw >> StartBits) & CountMask) + 1;

    /// <summary>The types every cluster of the run holds.</summary>
    public OverlapTypes Types => (OverlapTypes)(_raw >> TypesShift);
}
