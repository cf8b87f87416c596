using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Qcow2.Storage;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// How a file sits on the host file system: its length, the file ranges that have blocks (FIEMAP, with the unwritten
/// ones marked) and its data extents as lseek SEEK_DATA / SEEK_HOLE report them. Two files that the same writes,
/// punches and truncations left give the same text.
/// </summary>
/// <remarks>
/// st_blocks is not part of the text: ext4 counts its extent-tree blocks in it, and whether a fragmented file keeps
/// one depends on when the kernel wrote the delayed allocations back (qemu-img resize --shrink run twice on two
/// copies of one image leaves 2120 or 2128 sectors). The FIEMAP ranges are the file's own blocks. Where FIEMAP is
/// not supported (tmpfs), st_blocks stands in: such file systems keep no per-file metadata blocks.
/// </remarks>
public static class DiskLayout
{
    private const uint FsIocFiemap = 0xC020660B; // _IOWR('f', 11, struct fiemap)
    private const int HeaderSize = 32;           // struct fiemap before its extents
    private const int ExtentSize = 56;           // struct fiemap_extent
    private const int ExtentsPerCall = 256;
    private const uint ExtentLast = 0x1;         // FIEMAP_EXTENT_LAST
    private const uint ExtentUnwritten = 0x800;  // FIEMAP_EXTENT_UNWRITTEN: allocated, reads as zeros
    private const uint FlagSync = 0x1;           // FIEMAP_FLAG_SYNC: write the file back first

    // DllImport: a blittable byte[] is pinned and passed as a pointer, so the kernel's answer lands in it.
    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, nuint request, byte[] arg);

    /// <summary>"length L, blocks [a, b) [c, d)u ..., data [e, f) ..." for the file at path.</summary>
    public static string Of(string path)
    {
        using var handle = File.OpenHandle(path);
        long length = RandomAccess.GetLength(handle);
        var text = new StringBuilder($"length {length}, blocks");
        var ranges = Fiemap((int)handle.DangerousGetHandle());
        if (ranges is null)
        {
            text.Append($" st_blocks {HostFile.AllocatedBytes(path, -512) / 512}");
        }
        else
        {
            foreach (var (start, end, unwritten) in ranges)
            {
                text.Append($" [0x{start:x}, 0x{end:x}){(unwritten ? "u" : "")}");
            }
        }
        text.Append(", data");
        for (long at = 0; at < length;)
        {
            var e = HostExtents.Query(handle, at, length - at);
            if (e.Data)
            {
                text.Append($" [0x{at:x}, 0x{at + e.Length:x})");
            }
            at += e.Length;
        }
        return text.ToString();
    }

    /// <summary>The file's allocated logical ranges, adjacent ones of the same kind merged; null without FIEMAP.</summary>
    private static List<(long Start, long End, bool Unwritten)>? Fiemap(int fd)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        var ranges = new List<(long Start, long End, bool Unwritten)>();
        var buf = new byte[HeaderSize + ExtentsPerCall * ExtentSize];
        ulong from = 0;
        while (true)
        {
            Array.Clear(buf);
            BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(0), from);
            BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(8), ulong.MaxValue - from);
            // Without the sync, ranges still dirty in the page cache show as unwritten or not depending on when
            // writeback ran (two copies of one file then differ): seen once under heavy I/O from another process.
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(16), FlagSync);
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(24), ExtentsPerCall);
            if (Ioctl(fd, FsIocFiemap, buf) != 0)
            {
                return null;
            }
            uint mapped = BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(20));
            if (mapped == 0)
            {
                return ranges;
            }
            for (int i = 0; i < mapped; i++)
            {
                var e = buf.AsSpan(HeaderSize + i * ExtentSize);
                long start = (long)BinaryPrimitives.ReadUInt64LittleEndian(e);
                long end = start + (long)BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
                uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e[40..]);
                bool unwritten = (flags & ExtentUnwritten) != 0;
                if (ranges.Count > 0 && ranges[^1].End == start && ranges[^1].Unwritten == unwritten)
                {
                    ranges[^1] = (ranges[^1].Start, end, unwritten);
                }
                else
                {
                    ranges.Add((start, end, unwritten));
                }
                from = (ulong)end;
                if ((flags & ExtentLast) != 0)
                {
                    return ranges;
                }
            }
        }
    }
}
