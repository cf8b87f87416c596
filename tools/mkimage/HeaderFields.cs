using Qcow2.Format;

namespace Qcow2.Tools.Mkimage;

/// <summary>How qcow2.py prints a field's value.</summary>
internal enum FieldDisplay
{
    /// <summary>Decimal, Python "{}".</summary>
    Decimal,

    /// <summary>Hexadecimal with 0x, Python "{:#x}".</summary>
    Hex,

    /// <summary>The list of set bit numbers, e.g. [0, 1].</summary>
    BitList,
}

/// <summary>One named field of an on-disk structure: byte offset within the structure, size in bytes, display form.</summary>
internal sealed record FieldSpec(string Name, int Offset, int Size, FieldDisplay Display = FieldDisplay.Decimal)
{
    /// <summary>Width in bits.</summary>
    public int Bits => Size * 8;
}

/// <summary>The header fields under qcow2.py's names, in its order (note snapshot_offset, not snapshots_offset).</summary>
internal static class HeaderFields
{
    /// <summary>Length of the header that qcow2.py reads and packs: the v3 fields up to header_length.</summary>
    public const int PackedLength = Header.V3MinLength;

    /// <summary>The fields qcow2.py dumps and set-header accepts.</summary>
    public static readonly FieldSpec[] Qcow2Py =
    [
        new("magic", Header.MagicOffset, 4, FieldDisplay.Hex),
        new("version", Header.VersionOffset, 4),
        new("backing_file_offset", Header.BackingFileOffsetOffset, 8, FieldDisplay.Hex),
        new("backing_file_size", Header.BackingFileSizeOffset, 4, FieldDisplay.Hex),
        new("cluster_bits", Header.ClusterBitsOffset, 4),
        new("size", Header.SizeOffset, 8),
        new("crypt_method", Header.CryptMethodOffset, 4),
        new("l1_size", Header.L1SizeOffset, 4),
        new("l1_table_offset", Header.L1TableOffsetOffset, 8, FieldDisplay.Hex),
        new("refcount_table_offset", Header.RefcountTableOffsetOffset, 8, FieldDisplay.Hex),
        new("refcount_table_clusters", Header.RefcountTableClustersOffset, 4),
        new("nb_snapshots", Header.NbSnapshotsOffset, 4),
        new("snapshot_offset", Header.SnapshotsOffsetOffset, 8, FieldDisplay.Hex),
        new("incompatible_features", Header.IncompatibleFeaturesOffset, 8, FieldDisplay.BitList),
        new("compatible_features", Header.CompatibleFeaturesOffset, 8, FieldDisplay.BitList),
        new("autoclear_features", Header.AutoclearFeaturesOffset, 8, FieldDisplay.BitList),
        new("refcount_order", Header.RefcountOrderOffset, 4),
        new("header_length", Header.HeaderLengthOffset, 4),
    ];

    /// <summary>The optional compression type byte, addressable by poke/peek but unknown to qcow2.py.</summary>
    public static readonly FieldSpec CompressionType = new("compression_type", Header.CompressionTypeOffset, 1);

    /// <summary>Finds a qcow2.py header field by name.</summary>
    public static FieldSpec? Find(string name) => Array.Find(Qcow2Py, f => f.Name == name);

    /// <summary>Finds a field addressable as header.NAME (the qcow2.py fields, compression_type, and snapshots_offset as an alias).</summary>
    public static FieldSpec? FindForPoke(string name) => name switch
    {
        "compression_type" => CompressionType,
        "snapshots_offset" => Find("snapshot_offset"),
        _ => Find(name),
    };

    /// <summary>True for the fields that exist only in a version 3 header.</summary>
    public static bool IsV3Only(FieldSpec f) => f.Offset >= Header.V2Length;
}
