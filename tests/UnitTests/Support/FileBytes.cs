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

    /// <summary>The first offset at which two files differ, -1 when they are identical (the shorter length when one is a prefix).</summary>
    public static long FirstDifference(string a, string b)
    {
        using var fa = new FileStream(a, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var fb = new FileStream(b, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var ba = new byte[Chunk];
        var bb = new byte[Chunk];
        for (long at = 0; ; )
        {
            int na = fa.ReadAtLeast(ba, Chunk, throwOnEndOfStream: false);
            int nb = fb.ReadAtLeast(bb, Chunk, throwOnEndOfStream: false);
            int n = Math.Min(na, nb);
            int same = ba.AsSpan(0, n).CommonPrefixLength(bb.AsSpan(0, n));
            if (same < n)
            {
                return at + same;
            }
            if (na != nb)
            {
                return at + n;
            }
            if (na < Chunk)
            {
                return -1;
            }
            at += n;
        }
    }
}
