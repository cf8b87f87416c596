namespace Qcow2.Overlap;

/// <summary>Upstream QEMU's linear scan (qcow2_check_metadata_overlap): walks every enabled structure on every check.</summary>
/// <remarks>
/// Returns every overlapping type instead of the first, per the <see cref="IOverlapChecker"/> contract; it is the oracle
/// the metadata list is tested against and the benchmark baseline. The structures come from the image's one enumeration
/// (the same one the metadata list is built from), so a snapshot's inactive L2 tables are read from the file on each check.
/// </remarks>
internal sealed class LinearScanChecker : IOverlapChecker
{
    private readonly long _clusterSize;
    private readonly OverlapTypes _enabled;
    private readonly Action<OverlapTypes, MetadataVisitor> _forEachStructure;

    /// <summary>A scan of the structures <paramref name="forEachStructure"/> enumerates, of the <paramref name="enabled"/> types.</summary>
    public LinearScanChecker(int clusterBits, OverlapTypes enabled, Action<OverlapTypes, MetadataVisitor> forEachStructure)
    {
        _clusterSize = 1L << clusterBits;
        _enabled = enabled;
        _forEachStructure = forEachStructure;
    }

    /// <inheritdoc/>
    public OverlapTypes FindOverlaps(OverlapTypes ignore, long offset, long size)
    {
        var chk = _enabled & ~ignore;
        var hits = OverlapTypes.None;
        if (size == 0 || chk == OverlapTypes.None)
        {
            return hits;
        }
        if ((chk & OverlapTypes.MainHeader) != 0 && offset < _clusterSize)
        {
            hits |= OverlapTypes.MainHeader;
        }
        long inCluster = offset & (_clusterSize - 1);
        size = (inCluster + size + _clusterSize - 1) / _clusterSize * _clusterSize;
        offset -= inCluster;
        long end = offset + size;
        _forEachStructure(chk & ~OverlapTypes.MainHeader, (start, len, type) =>
        {
            if ((hits & type) == 0 && start < end && offset < start + len)
            {
                hits |= type;
            }
        });
        return hits;
    }
}
