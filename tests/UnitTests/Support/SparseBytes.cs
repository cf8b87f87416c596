using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// A file's length and its data runs (lseek SEEK_DATA / SEEK_HOLE), so a copy has its holes where the original has them
/// and nowhere else: QEMU reports a hole as zeros in map, so a copy that fills holes (File.Copy) or adds them (cp -a
/// on zero runs) changes what layout-sensitive tests see. Where lseek cannot tell, the whole file is one run.
/// </summary>
public sealed class SparseBytes
{
    private readonly long length;
    private readonly (long Offset, byte[] Data)[] runs;

    private SparseBytes(long length, (long Offset, byte[] Data)[] runs)
    {
        this.length = length;
        this.runs = runs;
    }

    /// <summary>The file's length.</summary>
    public long Length => length;

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

    /// <summary>Fills buffer with the file's bytes at offset: its data runs' bytes, zeros in its holes.</summary>
    public void ReadAt(long offset, Span<byte> buffer)
    {
        buffer.Clear();
        long end = offset + buffer.Length;
        // The first run that ends past offset, then every run that starts before end.
        int lo = 0, hi = runs.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (runs[mid].Offset + runs[mid].Data.Length <= offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        for (int i = lo; i < runs.Length && runs[i].Offset < end; i++)
        {
            long from = Math.Max(offset, runs[i].Offset);
            long to = Math.Min(end, runs[i].Offset + runs[i].Data.Length);
            runs[i].Data.AsSpan((int)(from - runs[i].Offset), (int)(to - from)).CopyTo(buffer[(int)(from - offset)..]);
        }
    }

    /// <summary>Whether another file has the same length, the same data runs and the same bytes in them.</summary>
    public bool SameAs(SparseBytes other) =>
        length == other.length && runs.Length == other.runs.Length
        && runs.Zip(other.runs).All(p => p.First.Offset == p.Second.Offset && p.First.Data.AsSpan().SequenceEqual(p.Second.Data));

    /// <summary>The [start, end) data runs of an open file, or the whole file when the system cannot say.</summary>
    private static List<(long Start, long End)> DataRuns(FileStream f, long size)
    {
        var runs = new List<(long, long)>();
        for (long at = 0; at < size;)
        {
            var e = HostExtents.Query(f.SafeFileHandle, at, size - at);
            if (e.Data)
            {
                runs.Add((at, at + e.Length));
            }
            at += e.Length;
        }
        return runs;
    }
}
