using System.Runtime.InteropServices;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// A file's length and its data runs (lseek SEEK_DATA / SEEK_HOLE), so a copy has its holes where the original has them
/// and nowhere else: QEMU reports a hole as zeros in map, so a copy that fills holes (File.Copy) or adds them (cp -a
/// on zero runs) changes what layout-sensitive tests see. Where lseek cannot tell, the whole file is one run.
/// </summary>
public sealed class SparseBytes
{
    private const int SeekData = 3;
    private const int SeekHole = 4;

    private readonly long length;
    private readonly (long Offset, byte[] Data)[] runs;

    private SparseBytes(long length, (long Offset, byte[] Data)[] runs)
    {
        this.length = length;
        this.runs = runs;
    }

    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static extern long LSeek(int fd, long offset, int whence);

    /// <summary>Reads a file's data runs.</summary>
    public static SparseBytes Read(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
        long size = f.Length;
        var runs = new List<(long, byte[])>();
        foreach ((long start, long end) in DataRuns(f, size))
        {
            var data = new byte[end - start];
            f.Position = start;
            f.ReadExactly(data);
            runs.Add((start, data));
        }
        return new SparseBytes(size, [.. runs]);
    }

    /// <summary>Writes the file anew: its length, then its data runs; the rest stays holes.</summary>
    public void Write(string path)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        f.SetLength(length);
        foreach ((long offset, byte[] data) in runs)
        {
            f.Position = offset;
            f.Write(data);
        }
    }

    /// <summary>Whether another file has the same length, the same data runs and the same bytes in them.</summary>
    public bool SameAs(SparseBytes other) =>
        length == other.length && runs.Length == other.runs.Length
        && runs.Zip(other.runs).All(p => p.First.Offset == p.Second.Offset && p.First.Data.AsSpan().SequenceEqual(p.Second.Data));

    /// <summary>The [start, end) data runs of an open file, or the whole file when the system cannot say.</summary>
    private static List<(long Start, long End)> DataRuns(FileStream f, long size)
    {
        var whole = new List<(long, long)> { (0, size) };
        if (!OperatingSystem.IsLinux() || size == 0)
        {
            return size == 0 ? [] : whole;
        }
        int fd = (int)f.SafeFileHandle.DangerousGetHandle();
        var runs = new List<(long, long)>();
        for (long at = 0; at < size;)
        {
            long start = LSeek(fd, at, SeekData);
            if (start < 0)
            {
                // ENXIO: no data after at (the rest is a hole); anything else: the system cannot say.
                return Marshal.GetLastPInvokeError() == 6 ? runs : whole;
            }
            long end = LSeek(fd, start, SeekHole);
            if (end <= start)
            {
                return whole;
            }
            runs.Add((start, Math.Min(end, size)));
            at = end;
        }
        return runs;
    }
}
