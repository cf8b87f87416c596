using Qcow2.Format;
using Qcow2.Tools.Mkimage;

namespace Qcow2.UnitTests.Fuzz;

/// <summary>One value of a seed image the fuzzer may change, by the name mkimage gives it (header.l1_size, l2[0][3], ...).</summary>
/// <param name="Name">the structure name, as `mkimage poke` takes it</param>
/// <param name="Location">where the value lives in the seed</param>
/// <param name="Original">the seed's value</param>
/// <param name="Kind">which structure it belongs to, for choosing interesting values</param>
internal sealed record FuzzField(string Name, Location Location, ulong Original, StructureKind Kind);

/// <summary>
/// The named values of a seed image: every header field, L1 entries, the entries of allocated L2 tables, refcount
/// table entries, the entries of the first refcount blocks and every snapshot table field, each resolved by mkimage's
/// StructureResolver against the seed itself (so the fuzzer addresses structures the way scenarios poke them).
/// </summary>
internal static class FuzzFields
{
    /// <summary>At most this many entries of one table are named (the rest are reached through raw byte mutations).</summary>
    private const int MaxEntriesPerTable = 64;

    /// <summary>Resolves the named values of the image at path.</summary>
    public static List<FuzzField> Of(string path)
    {
        var names = new List<string>();
        names.AddRange(HeaderFields.Qcow2Py.Select(f => "header." + f.Name));
        names.Add("header." + HeaderFields.CompressionType.Name);
        var header = Header.Parse(File.ReadAllBytes(path).AsSpan(0, Header.V3Length));
        long l1Entries = Math.Min(header.L1Size, MaxEntriesPerTable);
        for (long i = 0; i < l1Entries; i++)
        {
            names.Add($"l1[{i}]");
            for (long j = 0; j < MaxEntriesPerTable; j++)
            {
                names.Add($"l2[{i}][{j}]");
            }
        }
        for (long i = 0; i < 8; i++)
        {
            names.Add($"refcount_table[{i}]");
        }
        for (long j = 0; j < MaxEntriesPerTable; j++)
        {
            names.Add($"refcount_block[0][{j}]");
        }
        for (long i = 0; i < Math.Min(header.NbSnapshots, 4); i++)
        {
            names.AddRange(Layout.SnapshotFields.Select(f => $"snapshot[{i}].{f.Name}"));
        }

        var fields = new List<FuzzField>();
        using var file = ImageFile.Open(path, path, writable: false);
        foreach (string name in names)
        {
            try
            {
                var p = StructurePath.Parse(name);
                var loc = StructureResolver.Resolve(file, p);
                fields.Add(new FuzzField(name, loc, FuzzBits.Read(file.ReadExact(loc.Offset, loc.ByteCount, name), loc), p.Kind));
            }
            catch (MkimageException)
            {
                // Unallocated L2 tables, entries past a table's end, absent extra data fields: nothing to name there.
            }
        }
        return fields;
    }
}

/// <summary>Reads and writes a value at a mkimage Location (big-endian bytes, then a bit field within them).</summary>
internal static class FuzzBits
{
    /// <summary>The value held at loc within bytes (which start at loc.Offset).</summary>
    public static ulong Read(ReadOnlySpan<byte> bytes, Location loc)
    {
        ulong raw = 0;
        for (int k = 0; k < loc.ByteCount; k++)
        {
            raw = (raw << 8) | bytes[k];
        }
        return loc.Bits >= 64 ? raw : (raw >> loc.Shift) & ((1UL << loc.Bits) - 1);
    }

    /// <summary>Writes value (cut to the field's width) at loc into an image held in memory.</summary>
    public static void Write(byte[] image, Location loc, ulong value)
    {
        if (loc.Offset + loc.ByteCount > image.Length)
        {
            return;
        }
        var span = image.AsSpan((int)loc.Offset, loc.ByteCount);
        ulong raw = Read(span, Location.Bytes(loc.Offset, loc.ByteCount));
        if (loc.Bits >= 64)
        {
            raw = value;
        }
        else
        {
            ulong mask = ((1UL << loc.Bits) - 1) << loc.Shift;
            raw = (raw & ~mask) | ((value << loc.Shift) & mask);
        }
        for (int k = loc.ByteCount - 1; k >= 0; k--)
        {
            span[k] = (byte)raw;
            raw >>= 8;
        }
    }
}
