using System.Text;
using System.Text.Json;

namespace Qcow2.Corpus;

/// <summary>One run of the guest disk with its SHA-256: a run of qemu-img map entries with the same data/zero flags.</summary>
/// <param name="Start">guest offset</param>
/// <param name="Length">bytes</param>
/// <param name="Data">qemu-img map's "data" (false: unallocated or zero)</param>
/// <param name="Zero">qemu-img map's "zero" (reads as zeros)</param>
/// <param name="Sha256">hex digest of the run's guest content</param>
public sealed record Extent(long Start, long Length, bool Data, bool Zero, string Sha256);

/// <summary>
/// A case's expectation, as real QEMU 7.2 sees it: whether qemu-img convert -f qcow2 reads it (and its first error
/// line if not), the guest size, the SHA-256 of the whole guest disk and of each extent (from qemu-img map).
/// </summary>
public sealed record Sidecar(string Name, bool Read, string? Error, long Size, string? Sha256, IReadOnlyList<Extent> Extents)
{
    /// <summary>The sidecar as indented JSON, with a final newline (stable, for checking in).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("name", Name);
            w.WriteString("verdict", Name[..1]);
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
                    w.WriteBoolean("data", e.Data);
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
        if (!read)
        {
            return new Sidecar(r.GetProperty("name").GetString()!, false, error, 0, null, []);
        }
        var extents = r.GetProperty("extents").EnumerateArray().Select(x => new Extent(
            x.GetProperty("start").GetInt64(), x.GetProperty("length").GetInt64(), x.GetProperty("data").GetBoolean(),
            x.GetProperty("zero").GetBoolean(), x.GetProperty("sha256").GetString()!)).ToList();
        return new Sidecar(r.GetProperty("name").GetString()!, true, error, r.GetProperty("size").GetInt64(),
            r.GetProperty("sha256").GetString(), extents);
    }

    /// <summary>The extents of qemu-img map's JSON output: entries merged while data and zero stay the same.</summary>
    public static List<(long Start, long Length, bool Data, bool Zero)> MapExtents(string mapJson, long size)
    {
        var runs = new List<(long Start, long Length, bool Data, bool Zero)>();
        using var doc = JsonDocument.Parse(mapJson);
        foreach (var x in doc.RootElement.EnumerateArray())
        {
            long start = x.GetProperty("start").GetInt64(), length = x.GetProperty("length").GetInt64();
            bool data = x.GetProperty("data").GetBoolean(), zero = x.GetProperty("zero").GetBoolean();
            if (length == 0)
            {
                continue;
            }
            if (runs.Count > 0 && runs[^1].Data == data && runs[^1].Zero == zero && runs[^1].Start + runs[^1].Length == start)
            {
                runs[^1] = (runs[^1].Start, runs[^1].Length + length, data, zero);
            }
            else
            {
                runs.Add((start, length, data, zero));
            }
        }
        if (runs.Count > MaxExtents || runs.Sum(r => r.Length) != size)
        {
            // Too fragmented (or not covering the disk): fixed chunks instead, flagged as data.
            long chunk = Math.Max(1 << 20, (size / MaxExtents + 65535) & ~65535L);
            runs = [];
            for (long s = 0; s < size; s += chunk)
            {
                runs.Add((s, Math.Min(chunk, size - s), true, false));
            }
        }
        return runs;
    }

    /// <summary>The most extents a sidecar lists.</summary>
    public const int MaxExtents = 256;
}
