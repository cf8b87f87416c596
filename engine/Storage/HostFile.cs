using System.Runtime.InteropServices;

namespace Qcow2.Storage;

/// <summary>Facts about host files that .NET does not expose directly.</summary>
public static class HostFile
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

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int Stat(string path, out StatX64 buf);

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
