namespace Qcow2.Overlap;

/// <summary>Answers whether a write to the image file would overlap protected metadata; implemented by the engine's linear scan and by <see cref="MetadataListChecker"/>.</summary>
/// <remarks>
/// Contract shared by both implementations, so that one can be the other's oracle: the result is the OR of <b>every</b>
/// enabled structure type, not in <paramref name="ignore"/>, that overlaps the clusters [offset, offset + size) touches
/// (offset rounded down and end rounded up to clusters); size 0 gives None; a range starting in cluster 0 always includes
/// <see cref="OverlapTypes.MainHeader"/> when it is enabled and not ignored (upstream's header rule). The engine reports the
/// overlap by one name: upstream QEMU names the first hit of its scan order (<see cref="OverlapTypeInfo.FirstInScanOrder"/>),
/// the series the lowest bit (<see cref="OverlapTypeInfo.LowestName"/>).
/// </remarks>
internal interface IOverlapChecker
{
    /// <summary>The types overlapping [offset, offset + size) of the image file, without <paramref name="ignore"/>.</summary>
    OverlapTypes FindOverlaps(OverlapTypes ignore, long offset, long size);
}
