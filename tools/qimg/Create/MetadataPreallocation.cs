namespace Qcow2.Tools.Qimg;

/// <summary>
/// qcow2_detect_metadata_preallocation: an image counts as preallocated with metadata when clearly more clusters
/// carry a reference count than the image file occupies on disk. Only then does qemu's block status look at the
/// file's holes under data clusters (BDRV_BLOCK_RECURSE). The engine reads the refcounts.
/// </summary>
public static class MetadataPreallocation
{
    /// <summary>Whether qemu would treat the image as preallocated with metadata.</summary>
    public static bool Detect(Qcow2Image image, FileStream file) => image.DetectMetadataPreallocation(file.Length);
}
