namespace Qcow2.Overlap;

/// <summary>Told where the image's metadata structures are allocated, moved and freed (the metadata list's seam).</summary>
internal interface IMetadataTracker
{
    /// <summary>A structure of <paramref name="type"/> now occupies [offset, offset + bytes).</summary>
    void Enter(long offset, long bytes, OverlapTypes type);

    /// <summary>The structure of <paramref name="type"/> at [offset, offset + bytes) is gone.</summary>
    void Remove(long offset, long bytes, OverlapTypes type);
}
