namespace Qcow2.Overlap;

/// <summary>Adapts a <see cref="MetadataList"/> to <see cref="IOverlapChecker"/>, adding upstream's two edge rules.</summary>
/// <remarks>
/// The series' check has no special case for size 0 (an unaligned offset with size 0 touches a cluster) and protects the
/// header only if cluster 0 was entered. This adapter returns None for size 0 and always reports the main header for a
/// range starting in cluster 0 when that check is enabled, as upstream does, so the header stays protected even when the
/// memory limit keeps window 0 from loading. Everything else is the list's answer.
/// </remarks>
internal sealed class MetadataListChecker : IOverlapChecker
{
    /// <summary>Wraps <paramref name="list"/>.</summary>
    public MetadataListChecker(MetadataList list) => List = list ?? throw new ArgumentNullException(nameof(list));

    /// <summary>The wrapped list, which the engine keeps up to date with Enter and Remove.</summary>
    public MetadataList List { get; }

    /// <inheritdoc/>
    public OverlapTypes FindOverlaps(OverlapTypes ignore, long offset, long size)
    {
        if (size == 0)
        {
            return OverlapTypes.None;
        }

        var result = List.FindOverlaps(ignore, offset, size);
        if (offset >> List.ClusterBits == 0 && (List.Enabled & ~ignore).HasFlag(OverlapTypes.MainHeader))
        {
            result |= OverlapTypes.MainHeader;
        }

        return result;
    }
}
