using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// Data and holes of a host file (lseek SEEK_DATA / SEEK_HOLE), as qemu's file driver reports them in its block
/// status (file-posix raw_co_block_status). Where the platform cannot tell, everything is data.
/// </summary>
public static partial class HostExtents
{
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int Enxio = 6;

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);

    /// <summary>One answer: whether the extent at the offset is data (else a hole reading as zeros) and its length.</summary>
    public readonly record struct Extent(bool Data, long Length);

    /// <summary>
    /// The file driver's answer at an offset of an image's host file (all data when there is none): data or hole, its
    /// length, and whether it reaches the end of the file, whose size counts in whole sectors.
    /// </summary>
    public static (bool Data, long Length, bool Eof) FileStatus(FileStream? host, long offset, long bytes)
    {
        if (host is null)
        {
            return (true, bytes, false);
        }
        long total = (host.Length + ChainStatus.SectorSize - 1) / ChainStatus.SectorSize * ChainStatus.SectorSize;
        if (offset >= total)
        {
            return (false, 0, true);
        }
        bytes = Math.Min(bytes, total - offset);
        Extent e = Query(host.SafeFileHandle, offset, bytes);
        return (e.Data, e.Length, offset + e.Length == total);
    }

    /// <summary>The extent starting at offset (at most bytes long) of an open file.</summary>
    public static Extent Query(SafeFileHandle file, long offset, long bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new Extent(true, bytes);
        }
        int fd = (int)file.DangerousGetHandle();
        long data;
        try
        {
            data = LSeek(fd, offset, SeekData);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return new Extent(true, bytes);
        }
        if (data < 0)
        {
            // ENXIO: a trailing hole; any other failure: no information, so no holes.
            return new Extent(Marshal.GetLastPInvokeError() != Enxio, bytes);
        }
        if (data > offset)
        {
            return new Extent(false, Math.Min(data - offset, bytes));
        }
        long hole = LSeek(fd, offset, SeekHole);
        if (hole > offset)
        {
            return new Extent(true, Math.Min(hole - offset, bytes));
        }
        return new Extent(true, bytes);
    }
}
