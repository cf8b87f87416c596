using Qcow2.Format;
using Dir = Qcow2.Format.BitmapDirectoryEntry;

namespace Qcow2.Tools.Mkimage;

/// <summary>One bitmap table entry as qcow2.py classifies it.</summary>
internal sealed record BitmapTableEntry(ulong Raw)
{
    /// <summary>Reserved bits of a bitmap table entry (spec).</summary>
    public const ulong ReservedMask = Format.BitmapTableEntry.ReservedMask;

    /// <summary>Cluster offset bits of a bitmap table entry (spec).</summary>
    public const ulong OffsetMask = Format.BitmapTableEntry.OffsetMask;

    /// <summary>Bit 0: with offset 0 the whole cluster reads as ones.</summary>
    public const ulong AllOnesFlag = Format.BitmapTableEntry.AllOnesFlag;

    /// <summary>The cluster offset.</summary>
    public ulong Offset => Raw & OffsetMask;

    /// <summary>serialized, all-zeroes, all-ones or invalid (an offset together with the all-ones flag).</summary>
    public string Type => Offset != 0
        ? ((Raw & AllOnesFlag) != 0 ? "invalid" : "serialized")
        : ((Raw & AllOnesFlag) != 0 ? "all-ones" : "all-zeroes");
}

/// <summary>One bitmap directory entry with its name and bitmap table.</summary>
internal sealed record BitmapDirectoryEntry(
    ulong BitmapTableOffset, uint BitmapTableSize, uint Flags, byte Type, byte GranularityBits,
    ushort NameSize, uint ExtraDataSize, string Name, BitmapTableEntry[] Table);

/// <summary>The bitmaps header extension (24 bytes) and the directory it points to, read for dump-header.</summary>
internal sealed record BitmapsExtension(uint NbBitmaps, uint Reserved32, ulong DirectorySize, ulong DirectoryOffset,
    BitmapDirectoryEntry[] Directory)
{
    /// <summary>Size of the extension's fields.</summary>
    private const int FieldsSize = Qcow2.Format.HeaderExtension.BitmapsSize;

    /// <summary>Size of a directory entry's fixed part.</summary>
    private const int EntryFixedSize = Format.BitmapDirectoryEntry.FixedSize;

    /// <summary>Reads the extension fields from the file (as qcow2.py does, whatever the declared length) and the directory.</summary>
    public static BitmapsExtension Read(ImageFile file, HeaderExtensionRecord ext)
    {
        var f = file.ReadExact(ext.DataOffset, FieldsSize, "bitmaps extension");
        uint nb = (uint)BigEndian.Read(f.AsSpan(HeaderExtension.BitmapsNbBitmapsOffset, 4));
        uint reserved = (uint)BigEndian.Read(f.AsSpan(HeaderExtension.BitmapsReservedOffset, 4));
        ulong dirSize = BigEndian.Read(f.AsSpan(HeaderExtension.BitmapsDirectorySizeOffset, 8));
        ulong dirOffset = BigEndian.Read(f.AsSpan(HeaderExtension.BitmapsDirectoryOffsetOffset, 8));
        var entries = new List<BitmapDirectoryEntry>();
        long pos = ToOffset(dirOffset);
        for (uint k = 0; k < nb; k++)
        {
            string what = $"bitmap directory entry {k}";
            var e = file.ReadExact(pos, EntryFixedSize, what);
            ulong tableOffset = BigEndian.Read(e.AsSpan(Dir.TableOffsetField, 8));
            uint tableSize = (uint)BigEndian.Read(e.AsSpan(Dir.TableSizeField, 4));
            uint flags = (uint)BigEndian.Read(e.AsSpan(Dir.FlagsField, 4));
            byte type = e[Dir.TypeField];
            byte granularity = e[Dir.GranularityField];
            ushort nameSize = (ushort)BigEndian.Read(e.AsSpan(Dir.NameSizeField, 2));
            uint extra = (uint)BigEndian.Read(e.AsSpan(Dir.ExtraDataSizeField, 4));
            var name = file.ReadExact(pos + EntryFixedSize + extra, nameSize, $"name of {what}");
            long raw = EntryFixedSize + (long)nameSize + extra;
            pos += (raw + 7) & ~7L;
            const int entrySize = Format.BitmapTableEntry.Size;
            var tableBytes = file.ReadExact(ToOffset(tableOffset), (long)tableSize * entrySize, $"bitmap table of {what}");
            var table = new BitmapTableEntry[tableSize];
            for (int i = 0; i < table.Length; i++)
            {
                table[i] = new BitmapTableEntry(BigEndian.Read(tableBytes.AsSpan(i * entrySize, entrySize)));
            }
            entries.Add(new BitmapDirectoryEntry(tableOffset, tableSize, flags, type, granularity, nameSize, extra,
                System.Text.Encoding.Latin1.GetString(name), table));
        }
        return new BitmapsExtension(nb, reserved, dirSize, dirOffset, entries.ToArray());
    }

    /// <summary>qcow2.py's rendering of the flags: hex value and the flag names, e.g. 0x2 (['auto']).</summary>
    public static string FormatFlags(uint flags)
    {
        var names = new List<string>();
        for (int bit = 0; bit < 32; bit++)
        {
            uint flag = flags & (1u << bit);
            if (flag != 0)
            {
                names.Add(flag switch { 0x1 => "'in-use'", 0x2 => "'auto'", _ => $"'bit-{bit}'" });
            }
        }
        return $"0x{flags:x} ([{string.Join(", ", names)}])";
    }

    private static long ToOffset(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;
}
