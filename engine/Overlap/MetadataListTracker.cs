namespace Qcow2.Overlap;

/// <summary>The tracker of list mode: enters and removes byte ranges in a <see cref="MetadataList"/> as the clusters they touch.</summary>
/// <remarks>
/// An empty range, and an offset of 2^63 or more (a table entry the cast to long made negative), are ignored: nothing can be
/// written there, so such a structure cannot overlap a write; QEMU's check reports it as outside the image.
/// </remarks>
internal sealed class MetadataListTracker(MetadataList list) : IMetadataTracker
{
    /// <inheritdoc/>
    public void Enter(long offset, long bytes, OverlapTypes type)
    {
        if (bytes > 0 && offset >= 0)
        {
            list.Enter(offset, ClustersTouched(offset, bytes), type);
        }
    }

    /// <inheritdoc/>
    public void Remove(long offset, long bytes, OverlapTypes type)
    {
        if (bytes > 0 && offset >= 0)
        {
            list.Remove(offset, ClustersTouched(offset, bytes), type);
        }
    }

    private long ClustersTouched(long offset, long bytes)
    {
        long clusterSize = 1L << list.ClusterBits;
        return ((offset & (clusterSize - 1)) + bytes + clusterSize - 1) >> list.ClusterBits;
    }
}
