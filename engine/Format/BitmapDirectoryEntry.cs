using System.Buffers.Binary;
using System.Text;

namespace Qcow2.Format;

/// <summary>One bitmap directory entry (a Qcow2Bitmap in QEMU): table location, flags, granularity and name.</summary>
public sealed class BitmapDirectoryEntry
{
    /// <summary>Field: u64 bitmap table offset.</summary>
    public const int TableOffsetField = 0;
    /// <summary>Field: u32 bitmap table size (entries).</summary>
    public const int TableSizeField = TableOffsetField + 8;
    /// <summary>Field: u32 flags.</summary>
    public const int FlagsField = TableSizeField + 4;
    /// <summary>Field: u8 type.</summary>
    public const int TypeField = FlagsField + 4;
    /// <summary>Field: u8 granularity bits.</summary>
    public const int GranularityField = TypeField + 1;
    /// <summary>Field: u16 name size.</summary>
    public const int NameSizeField = GranularityField + 1;
    /// <summary>Field: u32 extra data size.</summary>
    public const int ExtraDataSizeField = NameSizeField + 2;

    /// <summary>Bytes of the fixed part; extra data and the name follow, the whole padded to 8 bytes.</summary>
    public const int FixedSize = ExtraDataSizeField + 4;
    /// <summary>Flag bit 0: the bitmap was in use and not stored cleanly, so its data is inconsistent.</summary>
    public const uint FlagInUse = 1U << 0;
    /// <summary>Flag bit 1: the bitmap tracks writes (is enabled).</summary>
    public const uint FlagAuto = 1U << 1;
    /// <summary>Flag bits 2..31 are reserved.</summary>
    public const uint ReservedFlags = 0xfffffffc;
    /// <summary>The only bitmap type: dirty tracking.</summary>
    public const byte TypeDirtyTracking = 1;
    /// <summary>BME_MAX_NAME_SIZE: the longest name, in bytes.</summary>
    public const int MaxNameSize = 1023;
    /// <summary>BME_MIN_GRANULARITY_BITS: 512-byte granularity at least.</summary>
    public const int MinGranularityBits = 9;
    /// <summary>BME_MAX_GRANULARITY_BITS: 2 GiB granularity at most.</summary>
    public const int MaxGranularityBits = 31;
    /// <summary>BME_MAX_TABLE_SIZE: the most bitmap table entries (so the table's byte size fits an int).</summary>
    public const uint MaxTableSize = 0x8000000;
    /// <summary>BME_MAX_PHYS_SIZE: QEMU restricts a bitmap's serialized size to 512 MiB (its size in RAM).</summary>
    public const long MaxPhysSize = 0x20000000;

    /// <summary>Offset of the bitmap table.</summary>
    public long TableOffset { get; set; }

    /// <summary>Entries of the bitmap table.</summary>
    public uint TableSize { get; set; }

    /// <summary>FlagInUse, FlagAuto and reserved bits.</summary>
    public uint Flags { get; set; }

    /// <summary>The bitmap type (1).</summary>
    public byte Type { get; set; } = TypeDirtyTracking;

    /// <summary>log2 of the bytes one bit covers.</summary>
    public int GranularityBits { get; set; }

    /// <summary>Bytes of extra data (QEMU supports none).</summary>
    public uint ExtraDataSize { get; set; }

    /// <summary>The name's bytes as stored (name_size of them).</summary>
    public byte[] RawName { get; set; } = [];

    /// <summary>The name as QEMU copies it (up to the first NUL), decoded as UTF-8.</summary>
    public string Name
    {
        get
        {
            int nul = Array.IndexOf(RawName, (byte)0);
            return Encoding.UTF8.GetString(RawName, 0, nul >= 0 ? nul : RawName.Length);
        }
    }

    /// <summary>calc_dir_entry_size: the fixed part, the name and the extra data, rounded up to 8 bytes.</summary>
    public static int EntrySize(long nameSize, long extraDataSize) => (int)((FixedSize + nameSize + extraDataSize + 7) & ~7L);

    /// <summary>Reads the fixed part at the start of raw; the name is filled in by the caller once its bounds are checked.</summary>
    public static BitmapDirectoryEntry ReadFixed(ReadOnlySpan<byte> raw, out int nameSize)
    {
        nameSize = BinaryPrimitives.ReadUInt16BigEndian(raw[NameSizeField..]);
        return new BitmapDirectoryEntry
        {
            TableOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(raw[TableOffsetField..]),
            TableSize = BinaryPrimitives.ReadUInt32BigEndian(raw[TableSizeField..]),
            Flags = BinaryPrimitives.ReadUInt32BigEndian(raw[FlagsField..]),
            Type = raw[TypeField],
            GranularityBits = raw[GranularityField],
            ExtraDataSize = BinaryPrimitives.ReadUInt32BigEndian(raw[ExtraDataSizeField..]),
        };
    }

    /// <summary>Writes the entry as bitmap_list_store does (no extra data, zero padding) at the start of dst; returns its size.</summary>
    public int WriteTo(Span<byte> dst)
    {
        int size = EntrySize(RawName.Length, 0);
        dst[..size].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(dst[TableOffsetField..], (ulong)TableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(dst[TableSizeField..], TableSize);
        BinaryPrimitives.WriteUInt32BigEndian(dst[FlagsField..], Flags);
        dst[TypeField] = TypeDirtyTracking;
        dst[GranularityField] = (byte)GranularityBits;
        BinaryPrimitives.WriteUInt16BigEndian(dst[NameSizeField..], (ushort)RawName.Length);
        RawName.CopyTo(dst[FixedSize..]);
        return size;
    }
}
