using Microsoft.Win32.SafeHandles;
using Qcow2.Tools.Qimg;

namespace Qcow2.Corpus;

/// <summary>
/// Reads a raw guest disk file (qemu-img's or qimg's convert output) without reading its holes: a hole is handed on as
/// zeros from memory. Reading the holes of a 4 GiB sparse file costs seconds of kernel time; finding them costs nothing.
/// </summary>
internal static class SparseFile
{
    /// <summary>Takes the next bytes of the file: at most 1 MiB, starting at a multiple of 4 KiB, all but the last whole 4 KiB blocks.</summary>
    public delegate void Chunk(ReadOnlySpan<byte> data);

    private const int ChunkSize = 1 << 20;

    /// <summary>Holes and data are taken in whole blocks of this size (a hole's edges round into the data).</summary>
    private const long Block = 4096;

    private static readonly byte[] Zeros = new byte[ChunkSize];

    /// <summary>Feeds the first limit bytes of the file to feed; returns false when the file is longer.</summary>
    public static bool Read(string path, long limit, Chunk feed)
    {
        using var h = File.OpenHandle(path);
        long size = RandomAccess.GetLength(h), end = Math.Min(size, limit), pos = 0;
        var buf = new byte[ChunkSize];
        while (pos < end)
        {
            long data = Math.Min(Next(h, pos, data: true, size) & ~(Block - 1), end);
            for (; pos < data; pos += Math.Min(ChunkSize, data - pos))
            {
                feed(Zeros.AsSpan(0, (int)Math.Min(ChunkSize, data - pos)));
            }
            long hole = Math.Min(Math.Max((Next(h, pos, data: false, size) + Block - 1) & ~(Block - 1), pos + Block), end);
            while (pos < hole)
            {
                int n = RandomAccess.Read(h, buf.AsSpan(0, (int)Math.Min(ChunkSize, hole - pos)), pos);
                if (n == 0)
                {
                    return size <= limit;
                }
                feed(buf.AsSpan(0, n));
                pos += n;
            }
        }
        return size <= limit;
    }

    /// <summary>Where the next data (or hole) starts at or after pos: pos itself (size for a hole) where the system cannot tell.</summary>
    private static long Next(SafeFileHandle h, long pos, bool data, long size)
    {
        if (pos >= size)
        {
            return data ? pos : size;
        }
        var e = HostExtents.Query(h, pos, size - pos);
        return e.Data == data ? pos : pos + e.Length;
    }
}
