using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Qcow2.Storage;

/// <summary>
/// Open file description locks (fcntl F_OFD_SETLK / F_OFD_GETLK), as QEMU's qemu_lock_fd and qemu_lock_fd_test take
/// and test them: one byte at a time, shared (read) locks only, a test asks whether an exclusive lock could be
/// taken. OFD locks belong to the open file description, so two opens of one file conflict even in one process,
/// and closing the descriptor drops them.
/// </summary>
internal static class OfdLocks
{
    /// <summary>struct flock as linux-x64 (and every LP64 Linux) lays it out: the 2-byte type and whence are padded to 8.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Len;
        public int Pid;
    }

    private const int FOfdGetlk = 36, FOfdSetlk = 37;
    private const short FRdlck = 0, FWrlck = 1, FUnlck = 2;
    private const short SeekSet = 0;

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(SafeFileHandle fd, int cmd, ref Flock lk);

    /// <summary>Whether this host has OFD locks (qemu_has_ofd_lock): Linux with the LP64 struct flock.</summary>
    public static bool Available { get; } = OperatingSystem.IsLinux() && IntPtr.Size == 8 && Probe();

    private static bool Probe()
    {
        try
        {
            using var fd = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var lk = new Flock { Type = FUnlck, Whence = SeekSet };
            return Fcntl(fd, FOfdGetlk, ref lk) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Takes a shared lock on one byte (qemu_lock_fd with exclusive=false); 0 or the errno.</summary>
    public static int Lock(SafeFileHandle fd, long offset) => Set(fd, offset, FRdlck);

    /// <summary>Drops this description's lock on one byte (qemu_unlock_fd); 0 or the errno.</summary>
    public static int Unlock(SafeFileHandle fd, long offset) => Set(fd, offset, FUnlck);

    /// <summary>Whether another open file description holds a lock on the byte (qemu_lock_fd_test with exclusive=true):
    /// 0 when an exclusive lock could be taken, EAGAIN when not, else the errno of the failed test.</summary>
    public static int Test(SafeFileHandle fd, long offset)
    {
        var lk = new Flock { Type = FWrlck, Whence = SeekSet, Start = offset, Len = 1 };
        if (Fcntl(fd, FOfdGetlk, ref lk) != 0)
        {
            return Marshal.GetLastPInvokeError();
        }
        return lk.Type == FUnlck ? 0 : (int)Errno.EAGAIN;
    }

    private static int Set(SafeFileHandle fd, long offset, short type)
    {
        var lk = new Flock { Type = type, Whence = SeekSet, Start = offset, Len = 1 };
        return Fcntl(fd, FOfdSetlk, ref lk) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }
}
