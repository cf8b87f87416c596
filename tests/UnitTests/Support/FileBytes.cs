using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Support;

/// <summary>Compares two files in chunks, without reading either into one array (large outputs, many runs).</summary>
public static class FileBytes
{
    private const int Chunk = 1 << 20;

    /// <summary>
    /// Asserts that two files hold the same bytes, naming the first offset that differs. (NUnit's Is.EqualTo compares
    /// arrays element by element, boxed: seconds for a 100 MiB image.)
    /// </summary>
    public static void AssertSame(string actual, string expected, string context = "")
    {
        long at = FirstDifference(actual, expected);
        Assert.That(at, Is.EqualTo(-1), $"{actual} ({new FileInfo(actual).Length} bytes) differs from {expected} "
            + $"({new FileInfo(expected).Length} bytes) at 0x{at:x}{(context.Length > 0 ? ": " + context : "")}");
    }

    /// <summary>
    /// The first offset at which two files differ, -1 when they are identical (the shorter length when one is a prefix).
    /// A range that is a hole in both files reads as zeros in both and is skipped unread (an image may span a sparse
    /// gigabyte).
    /// </summary>
    public static long FirstDifference(string a, string b)
    {
        using var fa = File.OpenHandle(a);
        using var fb = File.OpenHandle(b);
        long la = RandomAccess.GetLength(fa), lb = RandomAccess.GetLength(fb), n = Math.Min(la, lb);
        byte[] ba = ArrayPool<byte>.Shared.Rent(Chunk), bb = ArrayPool<byte>.Shared.Rent(Chunk);
        try
        {
            for (long pos = 0; pos < n; )
            {
                long hole = Math.Min(HoleAt(fa, pos, n - pos), HoleAt(fb, pos, n - pos));
                if (hole > 0)
                {
                    pos += hole;
                    continue;
                }
                int len = (int)Math.Min(Chunk, n - pos);
                ReadFully(fa, ba.AsSpan(0, len), pos);
                ReadFully(fb, bb.AsSpan(0, len), pos);
                int same = ba.AsSpan(0, len).CommonPrefixLength(bb.AsSpan(0, len));
                if (same < len)
                {
                    return pos + same;
                }
                pos += len;
            }
            return la == lb ? -1 : n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ba);
            ArrayPool<byte>.Shared.Return(bb);
        }
    }

    /// <summary>Fills the buffer from the file at an offset at least that many bytes before its end.</summary>
    public static void ReadFully(SafeFileHandle f, Span<byte> buffer, long offset)
    {
        for (int done = 0; done < buffer.Length; )
        {
            int n = RandomAccess.Read(f, buffer[done..], offset + done);
            if (n == 0)
            {
                throw new EndOfStreamException($"file shorter than {offset + buffer.Length} bytes");
            }
            done += n;
        }
    }

    /// <summary>The length of the hole at an offset of a file (at most max), or 0 where there is data.</summary>
    private static long HoleAt(SafeFileHandle f, long offset, long max) =>
        HostExtents.Query(f, offset, max) is { Data: false } e ? e.Length : 0;
}
