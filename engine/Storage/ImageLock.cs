using Microsoft.Win32.SafeHandles;

namespace Qcow2.Storage;

/// <summary>
/// The permission locks QEMU's file driver keeps on an image file (block/file-posix.c): a shared OFD lock on byte
/// 100 + bit for each permission this open takes and on byte 200 + bit for each permission it does not share.
/// A change of permissions is prepared (lock the union of old and new, then test whether another open holds a
/// conflicting byte), then committed (drop what the new set does not need) or aborted (back to the old set), as
/// raw_handle_perm_lock does.
/// </summary>
public sealed class ImageLock
{
    /// <summary>RAW_LOCK_PERM_BASE: byte 100 + bit is locked for each permission taken.</summary>
    public const int PermBase = 100;

    /// <summary>RAW_LOCK_SHARED_BASE: byte 200 + bit is locked for each permission not shared.</summary>
    public const int SharedBase = 200;

    /// <summary>Whether this host has the OFD locks image locking needs (QEMU's qemu_has_ofd_lock); without them nothing is locked.</summary>
    public static bool HostSupported => OfdLocks.Available;

    private readonly SafeFileHandle _fd;
    private BlockPermissions _lockedPerm, _lockedUnshared;

    internal ImageLock(SafeFileHandle fd) => _fd = fd;

    /// <summary>The permissions this open holds.</summary>
    public BlockPermissions Permissions { get; private set; }

    /// <summary>The permissions this open lets others take.</summary>
    public BlockPermissions Shared { get; private set; } = BlockPermissions.All;

    /// <summary>
    /// Takes perm and shares shared, or throws <see cref="ImageOpenException"/> with QEMU's message
    /// ('Failed to get "write" lock', 'Failed to get shared "write" lock') and its hint naming displayName.
    /// </summary>
    public void Update(BlockPermissions perm, BlockPermissions shared, string displayName)
    {
        if ((Permissions | perm) == Permissions && (Shared & shared) == Shared)
        {
            Commit(perm, shared);
            return;
        }
        string? error = Apply(Permissions | perm, ~Shared | ~shared, unlock: false)
            ?? CheckSettled(perm, shared, displayName);
        if (error is not null)
        {
            Apply(Permissions, ~Shared, unlock: true);
            throw new ImageOpenException(error, Errno.EAGAIN);
        }
        Commit(perm, shared);
    }

    /// <summary>Tries before a conflict counts (see <see cref="CheckSettled"/>).</summary>
    private const int ConflictTries = 20;

    /// <summary>Pause between tries: 20 × 5 ms keeps a real conflict's error within 0.1 s.</summary>
    private const int ConflictPauseMs = 5;

    /// <summary>
    /// <see cref="Check"/>, repeated for a moment while it finds a conflict. A multi-threaded process that embeds the
    /// engine and starts child processes (the test run does, and so may any host program) lends every open
    /// description to each child between its fork and its exec; for that instant the child holds the locks of an
    /// image this process has just closed, and a reopen would see them as another user's. QEMU's tools are
    /// single-threaded and test once; a real holder still fails here, 0.1 s later, with the same message.
    /// </summary>
    private string? CheckSettled(BlockPermissions perm, BlockPermissions shared, string displayName)
    {
        string? error = Check(perm, shared, displayName);
        for (int i = 1; i < ConflictTries && error is not null; i++)
        {
            Thread.Sleep(ConflictPauseMs);
            error = Check(perm, shared, displayName);
        }
        return error;
    }

    /// <summary>Takes nothing and shares everything: how a backing file's open steps aside while another open of the
    /// same file writes it (QEMU reopens the one node read-write, so its old read-only permissions go away).</summary>
    public void Release() => Update(BlockPermissions.None, BlockPermissions.All, "");

    private void Commit(BlockPermissions perm, BlockPermissions shared)
    {
        Apply(perm, ~shared, unlock: true);
        Permissions = perm;
        Shared = shared;
    }

    /// <summary>raw_apply_lock_bytes: locks the bytes of lockPerm and lockUnshared not yet locked; with unlock, drops the others.</summary>
    private string? Apply(BlockPermissions lockPerm, BlockPermissions lockUnshared, bool unlock)
    {
        return ApplyRange(PermBase, lockPerm, ref _lockedPerm, unlock)
            ?? ApplyRange(SharedBase, lockUnshared, ref _lockedUnshared, unlock);
    }

    private string? ApplyRange(int baseOffset, BlockPermissions wanted, ref BlockPermissions locked, bool unlock)
    {
        int i = 0;
        foreach (BlockPermissions bit in BlockPermissionNames.Bits)
        {
            int off = baseOffset + i++;
            if ((wanted & bit) != 0 && (locked & bit) == 0)
            {
                int err = OfdLocks.Lock(_fd, off);
                if (err != 0)
                {
                    return WithErrno($"Failed to lock byte {off}", err);
                }
                locked |= bit;
            }
            else if (unlock && (locked & bit) != 0 && (wanted & bit) == 0)
            {
                int err = OfdLocks.Unlock(_fd, off);
                if (err != 0)
                {
                    return WithErrno($"Failed to unlock byte {off}", err);
                }
                locked &= ~bit;
            }
        }
        return null;
    }

    /// <summary>raw_check_lock_bytes: another open must not refuse to share what we take, nor hold what we do not share.</summary>
    private string? Check(BlockPermissions perm, BlockPermissions shared, string displayName)
    {
        string hint = $"\nIs another process using the image [{displayName}]?";
        int i = 0;
        foreach (BlockPermissions bit in BlockPermissionNames.Bits)
        {
            int err = (perm & bit) != 0 ? OfdLocks.Test(_fd, SharedBase + i) : 0;
            i++;
            if (err != 0)
            {
                return WithErrno($"Failed to get \"{BlockPermissionNames.Of(bit)}\" lock", err) + hint;
            }
        }
        i = 0;
        foreach (BlockPermissions bit in BlockPermissionNames.Bits)
        {
            int err = (shared & bit) == 0 ? OfdLocks.Test(_fd, PermBase + i) : 0;
            i++;
            if (err != 0)
            {
                return WithErrno($"Failed to get shared \"{BlockPermissionNames.Of(bit)}\" lock", err) + hint;
            }
        }
        return null;
    }

    /// <summary>raw_lock_error_setg_errno: a conflict (EAGAIN) is reported plainly, any other failure with its strerror.</summary>
    private static string WithErrno(string message, int errno) =>
        errno == (int)Errno.EAGAIN ? message : $"{message}: {ErrnoText.Of((Errno)errno)}";
}
