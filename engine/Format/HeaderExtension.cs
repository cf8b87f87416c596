using System.Buffers.Binary;

namespace Qcow2.Format;

/// <summary>One header extension (type, data), stored as u32 type, u32 length, data padded to 8 bytes.</summary>
public sealed record HeaderExtension(uint Type, byte[] Data)
{
    /// <summary>Ends the list.</summary>
    public const uint End = 0;
    /// <summary>Backing file format name.</summary>
    public const uint BackingFormat = 0xe2792aca;
    /// <summary>Feature name table (48-byte entries).</summary>
    public const uint FeatureTable = 0x6803f857;
    /// <summary>Bitmaps extension (24 bytes).</summary>
    public const uint Bitmaps = 0x23852875;
    /// <summary>Full disk encryption header pointer.</summary>
    public const uint CryptoHeader = 0x0537be77;
    /// <summary>External data file name.</summary>
    public const uint DataFile = 0x44415441;

    /// <summary>Bytes of the type and length fields.</summary>
    public const int HeaderSize = 8;
    /// <summary>Bytes of one feature table entry: u8 type, u8 bit, 46 bytes of name.</summary>
    public const int FeatureEntrySize = 48;
    /// <summary>Bitmaps extension field: u32 nb_bitmaps.</summary>
    public const int BitmapsNbBitmapsOffset = 0;
    /// <summary>Bitmaps extension field: u32 reserved (must be zero).</summary>
    public const int BitmapsReservedOffset = BitmapsNbBitmapsOffset + 4;
    /// <summary>Bitmaps extension field: u64 bitmap directory size.</summary>
    public const int BitmapsDirectorySizeOffset = BitmapsReservedOffset + 4;
    /// <summary>Bitmaps extension field: u64 bitmap directory offset.</summary>
    public const int BitmapsDirectoryOffsetOffset = BitmapsDirectorySizeOffset + 8;
    /// <summary>Bytes of the bitmaps extension.</summary>
    public const int BitmapsSize = BitmapsDirectoryOffsetOffset + 8;

    /// <summary>Parses the extensions in cluster 0 from start up to end, with QEMU's checks and messages.</summary>
    public static List<HeaderExtension> ParseAll(ReadOnlySpan<byte> cluster0, int start, long end)
    {
        var list = ParsePrefix(cluster0, start, end, out string? error);
        return error is null ? list : throw new CorruptImageException(error);
    }

    /// <summary>Parses the extensions up to the first malformed one (whose message goes to error), as
    /// qcow2_read_extensions keeps what it read before it fails.</summary>
    public static List<HeaderExtension> ParsePrefix(ReadOnlySpan<byte> cluster0, int start, long end, out string? error)
    {
        const string tooLarge = "Header extension too large";
        var list = new List<HeaderExtension>();
        error = null;
        long offset = start;
        while (true)
        {
            if (offset > end - HeaderSize)
            {
                // QEMU: the area is too small for another extension header; treat as the end.
                if (offset >= end)
                {
                    break;
                }
                error = tooLarge;
                break;
            }
            uint type = BinaryPrimitives.ReadUInt32BigEndian(cluster0[(int)offset..]);
            uint len = BinaryPrimitives.ReadUInt32BigEndian(cluster0[(int)(offset + 4)..]);
            offset += HeaderSize;
            if (len > end - offset)
            {
                error = tooLarge;
                break;
            }
            if (type == End)
            {
                break;
            }
            list.Add(new HeaderExtension(type, cluster0.Slice((int)offset, (int)len).ToArray()));
            offset += (len + 7) & ~7L;
        }
        return list;
    }

    /// <summary>Appends this extension, padded to 8 bytes.</summary>
    public void WriteTo(List<byte> buf)
    {
        Span<byte> h = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(h, Type);
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], (uint)Data.Length);
        buf.AddRange(h.ToArray());
        buf.AddRange(Data);
        buf.AddRange(new byte[((Data.Length + 7) & ~7) - Data.Length]);
    }

    /// <summary>The feature table QEMU writes.</summary>
    public static HeaderExtension QemuFeatureTable()
    {
        var data = new byte[Features.QemuTable.Length * FeatureEntrySize];
        for (int i = 0; i < Features.QemuTable.Length; i++)
        {
            var (type, bit, name) = Features.QemuTable[i];
            data[i * FeatureEntrySize] = type;
            data[i * FeatureEntrySize + 1] = bit;
            System.Text.Encoding.ASCII.GetBytes(name).CopyTo(data, i * FeatureEntrySize + 2);
        }
        return new HeaderExtension(FeatureTable, data);
    }
}
