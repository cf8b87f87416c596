using System.Buffers.Binary;

namespace Qcow2.Format;

/// <summary>The qcow2 header at offset 0 (spec: docs/interop/qcow2.txt), fields as stored, big-endian.</summary>
public sealed class Header
{
    /// <summary>"QFI\xfb".</summary>
    public const uint Magic = 0x514649fb;

    // Field locations, each computed from the previous field's end.
    public const int MagicOffset = 0;
    public const int VersionOffset = MagicOffset + 4;
    public const int BackingFileOffsetOffset = VersionOffset + 4;
    public const int BackingFileSizeOffset = BackingFileOffsetOffset + 8;
    public const int ClusterBitsOffset = BackingFileSizeOffset + 4;
    public const int SizeOffset = ClusterBitsOffset + 4;
    public const int CryptMethodOffset = SizeOffset + 8;
    public const int L1SizeOffset = CryptMethodOffset + 4;
    public const int L1TableOffsetOffset = L1SizeOffset + 4;
    public const int RefcountTableOffsetOffset = L1TableOffsetOffset + 8;
    public const int RefcountTableClustersOffset = RefcountTableOffsetOffset + 8;
    public const int NbSnapshotsOffset = RefcountTableClustersOffset + 4;
    public const int SnapshotsOffsetOffset = NbSnapshotsOffset + 4;
    /// <summary>A version 2 header ends here.</summary>
    public const int V2Length = SnapshotsOffsetOffset + 8;
    public const int IncompatibleFeaturesOffset = V2Length;
    public const int CompatibleFeaturesOffset = IncompatibleFeaturesOffset + 8;
    public const int AutoclearFeaturesOffset = CompatibleFeaturesOffset + 8;
    public const int RefcountOrderOffset = AutoclearFeaturesOffset + 8;
    public const int HeaderLengthOffset = RefcountOrderOffset + 4;
    /// <summary>The shortest version 3 header.</summary>
    public const int V3MinLength = HeaderLengthOffset + 4;
    public const int CompressionTypeOffset = V3MinLength;
    /// <summary>What qemu-img writes for version 3: the compression type byte padded to a multiple of 8.</summary>
    public const int V3Length = CompressionTypeOffset + 8;

    public uint Version { get; set; }
    public ulong BackingFileOffset { get; set; }
    public uint BackingFileSize { get; set; }
    public uint ClusterBits { get; set; }
    public ulong Size { get; set; }
    public uint CryptMethod { get; set; }
    public uint L1Size { get; set; }
    public ulong L1TableOffset { get; set; }
    public ulong RefcountTableOffset { get; set; }
    public uint RefcountTableClusters { get; set; }
    public uint NbSnapshots { get; set; }
    public ulong SnapshotsOffset { get; set; }
    public ulong IncompatibleFeatures { get; set; }
    public ulong CompatibleFeatures { get; set; }
    public ulong AutoclearFeatures { get; set; }
    public uint RefcountOrder { get; set; } = 4;
    public uint HeaderLength { get; set; } = V2Length;
    public byte CompressionType { get; set; }

    /// <summary>Bytes between the known fields and header_length, kept so that a rewrite preserves them.</summary>
    public byte[] UnknownFields { get; set; } = [];

    /// <summary>Parses the fields from the start of the file (at least 72 bytes; v3 fields read as present only when header_length covers them).</summary>
    public static Header Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < V2Length)
        {
            throw new CorruptImageException("Image is not in qcow2 format");
        }
        var h = new Header
        {
            Version = U32(b, VersionOffset),
            BackingFileOffset = U64(b, BackingFileOffsetOffset),
            BackingFileSize = U32(b, BackingFileSizeOffset),
            ClusterBits = U32(b, ClusterBitsOffset),
            Size = U64(b, SizeOffset),
            CryptMethod = U32(b, CryptMethodOffset),
            L1Size = U32(b, L1SizeOffset),
            L1TableOffset = U64(b, L1TableOffsetOffset),
            RefcountTableOffset = U64(b, RefcountTableOffsetOffset),
            RefcountTableClusters = U32(b, RefcountTableClustersOffset),
            NbSnapshots = U32(b, NbSnapshotsOffset),
            SnapshotsOffset = U64(b, SnapshotsOffsetOffset),
        };
        if (h.Version >= 3 && b.Length >= V3MinLength)
        {
            h.IncompatibleFeatures = U64(b, IncompatibleFeaturesOffset);
            h.CompatibleFeatures = U64(b, CompatibleFeaturesOffset);
            h.AutoclearFeatures = U64(b, AutoclearFeaturesOffset);
            h.RefcountOrder = U32(b, RefcountOrderOffset);
            h.HeaderLength = U32(b, HeaderLengthOffset);
            if (h.HeaderLength > CompressionTypeOffset && b.Length > CompressionTypeOffset)
            {
                h.CompressionType = b[CompressionTypeOffset];
            }
            if (h.HeaderLength > V3Length && h.HeaderLength <= b.Length)
            {
                h.UnknownFields = b[V3Length..(int)h.HeaderLength].ToArray();
            }
        }
        return h;
    }

    /// <summary>The magic number as stored.</summary>
    public static uint ReadMagic(ReadOnlySpan<byte> b) => b.Length < 4 ? 0 : U32(b, MagicOffset);

    /// <summary>Serializes the header (header_length bytes; 72 for version 2).</summary>
    public byte[] ToBytes()
    {
        int len = Version >= 3 ? (int)HeaderLength : V2Length;
        var b = new byte[len];
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(MagicOffset), Magic);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(VersionOffset), Version);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(BackingFileOffsetOffset), BackingFileOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(BackingFileSizeOffset), BackingFileSize);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(ClusterBitsOffset), ClusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(SizeOffset), Size);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(CryptMethodOffset), CryptMethod);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(L1SizeOffset), L1Size);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(L1TableOffsetOffset), L1TableOffset);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(RefcountTableOffsetOffset), RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(RefcountTableClustersOffset), RefcountTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(NbSnapshotsOffset), NbSnapshots);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(SnapshotsOffsetOffset), SnapshotsOffset);
        if (Version >= 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(IncompatibleFeaturesOffset), IncompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(CompatibleFeaturesOffset), CompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(AutoclearFeaturesOffset), AutoclearFeatures);
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(RefcountOrderOffset), RefcountOrder);
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(HeaderLengthOffset), HeaderLength);
            if (len > CompressionTypeOffset)
            {
                b[CompressionTypeOffset] = CompressionType;
            }
            if (len > V3Length)
            {
                UnknownFields.AsSpan(0, Math.Min(UnknownFields.Length, len - V3Length)).CopyTo(b.AsSpan(V3Length));
            }
        }
        return b;
    }

    /// <summary>Where header extensions start: header_length for v3, 72 for v2.</summary>
    public int ExtensionsStart => Version >= 3 ? (int)HeaderLength : V2Length;

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32BigEndian(b[at..]);
    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64BigEndian(b[at..]);
}
