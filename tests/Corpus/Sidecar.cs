using System.Text;
using System.Text.Json;

namespace Qcow2.Corpus;

/// <summary>One run of the guest disk with its SHA-256: 4 KiB blocks that all read as zeros, or none of which do.</summary>
/// <param name="Start">guest offset</param>
/// <param name="Length">bytes</param>
/// <param name="Data">not Zero</param>
/// <param name="Zero">the run reads as zeros</param>
/// <param name="Sha256">hex digest of the run's guest content</param>
public sealed record Extent(long Start, long Length, bool Data, bool Zero, string Sha256);

/// <summary>
/// A case's expectation, as real QEMU 7.2 sees it: whether qemu-img convert -f qcow2 reads it (and its first error
/// line if not), the guest size, the SHA-256 of the whole guest disk and of each extent (runs of zero and non-zero
/// 4 KiB blocks).
/// </summary>
public sealed record Sidecar(string Name, bool Read, string? Error, long Size, string? Sha256, IReadOnlyList<Extent> Extents)
{
    /// <summary>The secret the reader is given for an encrypted case (QEMU got it as encrypt.key-secret), or null.</summary>
    public string? Secret { get; init; }

    /// <summary>The sidecar as indented JSON, with a final newline (stable, for checking in).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("name", Name);
            w.WriteString("verdict", Name[..1]);
            if (Secret is not null)
            {
                w.WriteString("secret", Secret);
            }
            w.WriteString("qemu", Read ? "read" : "refused");
            if (Error is not null)
            {
                w.WriteString("error", Error);
            }
            if (Read)
            {
                w.WriteNumber("size", Size);
                w.WriteString("sha256", Sha256);
                w.WriteStartArray("extents");
                foreach (var e in Extents)
                {
                    w.WriteStartObject();
                    w.WriteNumber("start", e.Start);
                    w.WriteNumber("length", e.Length);
                    w.WriteBoolean("zero", e.Zero);
                    w.WriteString("sha256", e.Sha256);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }

    /// <summary>Reads a sidecar written by <see cref="ToJson"/>.</summary>
    public static Sidecar Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        bool read = r.GetProperty("qemu").GetString() == "read";
        string? error = r.TryGetProperty("error", out var e) ? e.GetString() : null;
        string? secret = r.TryGetProperty("secret", out var k) ? k.GetString() : null;
        if (!read)
        {
            return new Sidecar(r.GetProperty("name").GetString()!, false, error, 0, null, []) { Secret = secret };
        }
        var extents = r.GetProperty("extents").EnumerateArray().Select(x => new Extent(
            x.GetProperty("start").GetInt64(), x.GetProperty("length").GetInt64(), !x.GetProperty("zero").GetBoolean(),
            x.GetProperty("zero").GetBoolean(), x.GetProperty("sha256").GetString()!)).ToList();
        return new Sidecar(r.GetProperty("name").GetString()!, true, error, r.GetProperty("size").GetInt64(),
            r.GetProperty("sha256").GetString(), extents) { Secret = secret };
    }

    /// <summary>
    /// The extents of a guest disk, from its content: runs of 4 KiB blocks that are all zeros or not. (Not from
    /// qemu-img map: its zero flags follow the host file system's holes, so they change from one machine to another.)
    /// When there are more than <see cref="MaxExtents"/> runs, only the longest zero runs stay apart.
    /// </summary>
    public static List<(long Start, long Length, bool Data, bool Zero)> ContentExtents(string rawPath)
    {
        var zero = new List<bool>();
        long size = new FileInfo(rawPath).Length;
        SparseFile.Read(rawPath, long.MaxValue, chunk =>
        {
            for (int off = 0; off < chunk.Length; off += Block)
            {
                zero.Add(!chunk.Slice(off, Math.Min(Block, chunk.Length - off)).ContainsAnyExcept((byte)0));
            }
        });
        var runs = Runs(zero, size);
        if (runs.Count > MaxExtents)
        {
            var keep = runs.Where(r => r.Zero).OrderByDescending(r => r.Length).ThenBy(r => r.Start).Take(MaxExtents / 2 - 1)
                .Select(r => r.Start).ToHashSet();
            var merged = new List<(long Start, long Length, bool Data, bool Zero)>();
            foreach (var r in runs.Select(r => r with { Zero = r.Zero && keep.Contains(r.Start), Data = !(r.Zero && keep.Contains(r.Start)) }))
            {
                if (merged.Count > 0 && merged[^1].Zero == r.Zero)
                {
                    merged[^1] = merged[^1] with { Length = merged[^1].Length + r.Length };
                }
                else
                {
                    merged.Add(r);
                }
            }
            runs = merged;
        }
        return runs;
    }

    private static List<(long Start, long Length, bool Data, bool Zero)> Runs(List<bool> zero, long size)
    {
        var runs = new List<(long Start, long Length, bool Data, bool Zero)>();
        for (int i = 0; i < zero.Count; i++)
        {
            long start = (long)i * Block, length = Math.Min(Block, size - start);
            if (runs.Count > 0 && runs[^1].Zero == zero[i])
            {
                runs[^1] = runs[^1] with { Length = runs[^1].Length + length };
            }
            else
            {
                runs.Add((start, length, !zero[i], zero[i]));
            }
        }
        return runs;
    }

    /// <summary>The block size of <see cref="ContentExtents"/>.</summary>
    private const int Block = 4096;

    /// <summary>The most extents a sidecar lists.</summary>
    public const int MaxExtents = 256;
}
