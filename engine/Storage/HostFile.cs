using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Qcow2.Storage;

/// <summary>Facts about host files that .NET does not expose directly.</summary>
public static partial class HostFile
{
    [StructLayout(LayoutKind.Sequential)]
    private struct StatX64
    {
        public ulong Dev, Ino, Nlink;
        public uint Mode, Uid, Gid, Pad0;
        public ulong Rdev;
        public long Size, Blksize, Blocks;
        public long Atime, AtimeNs, Mtime, MtimeNs, Ctime, CtimeNs;
        public long R0, R1, R2;
    }

    // LibraryImport: the marshalling stubs are generated at compile time, so Native AOT needs no runtime marshalling.
    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, out StatX64 buf);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(Microsoft.Win32.SafeHandles.SafeFileHandle fd, int mode, long offset, long len);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(Microsoft.Win32.SafeHandles.SafeFileHandle fd);

    /// <summary>
    /// Makes a file's data durable as QEMU's file driver does (qemu_fdatasync: fdatasync, which skips the inode times
    /// fsync also writes); where that is not available, or fails, RandomAccess.FlushToDisk (fsync) decides.
    /// </summary>
    public static void DataSync(Microsoft.Win32.SafeHandles.SafeFileHandle fd)
    {
        try
        {
            if (OperatingSystem.IsLinux() && Fdatasync(fd) == 0)
            {
                return;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        RandomAccess.FlushToDisk(fd);
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenFd(string path, int flags, int mode);

    private const int ORdonly = 0, ORdwr = 2, OCreat = 0x40, OCloexec = 0x80000;
    private const int EnoEnt = 2, EPerm = 1, EAccess = 13, ERofs = 30, ENameTooLong = 36;

    /// <summary>
    /// Opens a file as QEMU's file driver does (open(2), O_CLOEXEC, created with mode 0644 when asked), without the
    /// whole-file flock .NET's FileStream takes on Unix, so that the only locks on it are the image locks; throws
    /// FileNotFoundException, UnauthorizedAccessException (EACCES, EPERM and EROFS, which QEMU reports as EACCES),
    /// PathTooLongException, or IOException with the errno in HResult.
    /// </summary>
    public static SafeFileHandle OpenHandle(string path, bool write, bool create)
    {
        if (!OperatingSystem.IsLinux())
        {
            return File.OpenHandle(path, create ? FileMode.OpenOrCreate : FileMode.Open,
                write ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.RandomAccess);
        }
        int flags = (write ? ORdwr : ORdonly) | OCloexec | (create ? OCreat : 0);
        int fd = OpenFd(path, flags, 0x1a4);
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }
        int errno = Marshal.GetLastPInvokeError();
        string text = Marshal.GetPInvokeErrorMessage(errno);
        throw errno switch
        {
            EnoEnt => new FileNotFoundException(text, path),
            EPerm or EAccess or ERofs => new UnauthorizedAccessException(text),
            ENameTooLong => new PathTooLongException(text),
            _ => new IOException(text, errno),
        };
    }

    /// <summary>FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE: deallocate without changing the length.</summary>
    private const int PunchHoleKeepSize = 0x01 | 0x02;

    /// <summary>Deallocates a range as QEMU's file driver discards (fallocate punch hole); where that fails, writes zeros within the file.</summary>
    public static void PunchHole(Microsoft.Win32.SafeHandles.SafeFileHandle fd, long offset, long length)
    {
        try
        {
            if (OperatingSystem.IsLinux() && Fallocate(fd, PunchHoleKeepSize, offset, length) == 0)
            {
                return;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        long end = Math.Min(offset + length, RandomAccess.GetLength(fd));
        var zeros = new byte[64 * 1024];
        for (long p = offset; p < end; p += zeros.Length)
        {
            RandomAccess.Write(fd, zeros.AsSpan(0, (int)Math.Min(zeros.Length, end - p)), p);
        }
    }

    /// <summary>Allocates a range on disk (fallocate mode 0, as posix_fallocate), growing the file; false where that is not possible.</summary>
    public static bool Allocate(Microsoft.Win32.SafeHandles.SafeFileHandle fd, long offset, long length)
    {
        try
        {
            return OperatingSystem.IsLinux() && length > 0 && Fallocate(fd, 0, offset, length) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>FALLOC_FL_ZERO_RANGE: zero a range (unwritten extents), growing the file when the range ends past it.</summary>
    private const int ZeroRangeMode = 0x10;

    /// <summary>Zeroes a range as QEMU's file driver does for write-zeroes without unmap (fallocate zero range); where that fails, writes zeros.</summary>
    public static void ZeroRange(Microsoft.Win32.SafeHandles.SafeFileHandle fd, long offset, long length)
    {
        try
        {
            if (OperatingSystem.IsLinux() && length > 0 && Fallocate(fd, ZeroRangeMode, offset, length) == 0)
            {
                return;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        var zeros = new byte[Math.Min(length, 64 * 1024)];
        for (long p = offset; p < offset + length; p += zeros.Length)
        {
            RandomAccess.Write(fd, zeros.AsSpan(0, (int)Math.Min(zeros.Length, offset + length - p)), p);
        }
    }

    /// <summary>Bytes the file occupies on disk (st_blocks × 512) where the platform tells, else its length.</summary>
    public static long AllocatedBytes(string path, long fallback)
    {
        try
        {
            if (OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64
                && Stat(path, out var st) == 0)
            {
                return st.Blocks * 512;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        return fallback;
    }
}
