using Qcow2.Storage;
using P = Qcow2.Storage.BlockPermissions;

namespace Qcow2.Block;

/// <summary>A pair of permissions: what a user of a node takes and what it lets others take.</summary>
/// <param name="Perm">the permissions taken</param>
/// <param name="Shared">the permissions shared with other users</param>
internal readonly record struct PermissionPair(P Perm, P Shared);

/// <summary>
/// QEMU 7.2's permission model as far as it reaches an image file: what the tool's BlockBackend takes
/// (blk_new_open), what a qcow2 node passes down to its backing file (bdrv_default_perms_for_cow) and what a format
/// driver takes on its file (bdrv_default_perms_for_storage for qcow2, pass-through for raw), with force-share
/// sharing everything (bdrv_child_perm). The file driver locks the result (<see cref="ImageLock"/>).
/// </summary>
internal static class ImagePermissions
{
    /// <summary>blk_new_open: consistent read unless the open does no I/O, write when read-write, resize when asked;
    /// everything shared unless BDRV_O_NO_SHARE asks to share only reading and unchanged writes.</summary>
    public static PermissionPair ForTool(OpenOptions o) => new(
        (o.NoIo ? P.None : P.ConsistentRead) | (o.ReadOnly ? P.None : P.Write) | (o.Resize ? P.Resize : P.None),
        o.NoShare ? P.ConsistentRead | P.WriteUnchanged : P.All);

    /// <summary>bdrv_default_perms_for_cow: a backing file is only read (consistently if the parent reads so); it may
    /// change under a parent that tolerates writes, and is always shared for reading and unchanged writes.</summary>
    public static PermissionPair ForBacking(PermissionPair parent) => new(
        parent.Perm & P.ConsistentRead,
        ((parent.Shared & P.Write) != 0 ? P.Write | P.Resize : P.None) | P.ConsistentRead | P.WriteUnchanged);

    /// <summary>What a format node opened with parent's permissions takes on its file.</summary>
    public static PermissionPair ForFile(string format, PermissionPair parent, bool writable, bool noIo, bool forceShare)
    {
        P perm = parent.Perm, shared = parent.Shared;
        if (format == "qcow2")
        {
            // Metadata: the driver writes and grows the file whenever the image is writable, reads it consistently
            // unless it does no I/O, and lets nobody else write or resize it.
            perm |= (writable ? P.Write | P.Resize : P.None) | (noIo ? P.None : P.ConsistentRead);
            shared &= ~(P.Write | P.Resize);
            // Data: writes may grow the file; unchanged writes may still allocate.
            perm |= (perm & P.WriteUnchanged) != 0 ? P.Write : P.None;
            perm |= (perm & P.Write) != 0 ? P.Resize : P.None;
        }
        else if (format == "luks")
        {
            // block/crypto.c's file child holds data only (bdrv_default_perms_for_storage without metadata).
            perm |= (perm & P.WriteUnchanged) != 0 ? P.Write : P.None;
            perm |= (perm & P.Write) != 0 ? P.Resize : P.None;
        }
        return new PermissionPair(perm, forceShare ? P.All : shared);
    }
}
