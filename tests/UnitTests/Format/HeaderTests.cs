using NUnit.Framework;
using Qcow2.Format;

namespace Qcow2.UnitTests.Format;

/// <summary>Header.Parse and Header.ToBytes against hand-written headers, one spec field per line.</summary>
[TestFixture]
public class HeaderTests
{
    /// <summary>What `qemu-img create -f qcow2 -o compat=0.10 img 64M` writes: a 72-byte version 2 header.</summary>
    private static readonly byte[] V2 =
    [
        0x51, 0x46, 0x49, 0xfb,                         //  0 magic "QFI\xfb"
        0x00, 0x00, 0x00, 0x02,                         //  4 version 2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //  8 backing_file_offset 0 (none)
        0x00, 0x00, 0x00, 0x00,                         // 16 backing_file_size 0
        0x00, 0x00, 0x00, 0x10,                         // 20 cluster_bits 16 (64 KiB)
        0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, // 24 size 64 MiB
        0x00, 0x00, 0x00, 0x00,                         // 32 crypt_method 0 (none)
        0x00, 0x00, 0x00, 0x01,                         // 36 l1_size 1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, // 40 l1_table_offset 0x30000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // 48 refcount_table_offset 0x10000
        0x00, 0x00, 0x00, 0x01,                         // 56 refcount_table_clusters 1
        0x00, 0x00, 0x00, 0x00,                         // 60 nb_snapshots 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 64 snapshots_offset 0
    ];

    /// <summary>A version 3 header as qemu-img writes it (header_length 112), with distinct values in every field.</summary>
    private static readonly byte[] V3 =
    [
        0x51, 0x46, 0x49, 0xfb,                         //   0 magic
        0x00, 0x00, 0x00, 0x03,                         //   4 version 3
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x10, //   8 backing_file_offset 0x210
        0x00, 0x00, 0x00, 0x07,                         //  16 backing_file_size 7
        0x00, 0x00, 0x00, 0x0c,                         //  20 cluster_bits 12 (4 KiB)
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, //  24 size 4 GiB
        0x00, 0x00, 0x00, 0x02,                         //  32 crypt_method 2 (LUKS)
        0x00, 0x00, 0x00, 0x08,                         //  36 l1_size 8
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, //  40 l1_table_offset 0x3000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, //  48 refcount_table_offset 0x1000
        0x00, 0x00, 0x00, 0x02,                         //  56 refcount_table_clusters 2
        0x00, 0x00, 0x00, 0x03,                         //  60 nb_snapshots 3
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x70, 0x00, //  64 snapshots_offset 0x7000
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, //  72 incompatible_features: dirty, compression type
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //  80 compatible_features: lazy refcounts
        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //  88 autoclear_features: bitmaps, bit 63
        0x00, 0x00, 0x00, 0x05,                         //  96 refcount_order 5 (32-bit refcounts)
        0x00, 0x00, 0x00, 0x70,                         // 100 header_length 112
        0x01,                                           // 104 compression_type 1 (zstd)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,       // 105 padding to a multiple of 8
    ];

    [Test]
    public void Parse_reads_every_v2_field()
    {
        var h = Header.Parse(V2);
        Assert.Multiple(() =>
        {
            Assert.That(Header.ReadMagic(V2), Is.EqualTo(Header.Magic));
            Assert.That(h.Version, Is.EqualTo(2u));
            Assert.That(h.BackingFileOffset, Is.Zero);
            Assert.That(h.BackingFileSize, Is.Zero);
            Assert.That(h.ClusterBits, Is.EqualTo(16u));
            Assert.That(h.Size, Is.EqualTo(64UL << 20));
            Assert.That(h.CryptMethod, Is.Zero);
            Assert.That(h.L1Size, Is.EqualTo(1u));
            Assert.That(h.L1TableOffset, Is.EqualTo(0x30000UL));
            Assert.That(h.RefcountTableOffset, Is.EqualTo(0x10000UL));
            Assert.That(h.RefcountTableClusters, Is.EqualTo(1u));
            Assert.That(h.NbSnapshots, Is.Zero);
            Assert.That(h.SnapshotsOffset, Is.Zero);
        });
    }

    [Test]
    public void Parse_gives_a_v2_header_the_v3_defaults_whatever_follows_it()
    {
        // Bytes after a v2 header belong to the extension area, never to feature bits.
        var bytes = V2.Concat(Enumerable.Repeat((byte)0xff, 40)).ToArray();
        var h = Header.Parse(bytes);
        Assert.Multiple(() =>
        {
            Assert.That(h.IncompatibleFeatures, Is.Zero);
            Assert.That(h.CompatibleFeatures, Is.Zero);
            Assert.That(h.AutoclearFeatures, Is.Zero);
            Assert.That(h.RefcountOrder, Is.EqualTo(4u));
            Assert.That(h.HeaderLength, Is.EqualTo((uint)Header.V2Length));
            Assert.That(h.ExtensionsStart, Is.EqualTo(72));
        });
    }

    [Test]
    public void Parse_reads_every_v3_field()
    {
        var h = Header.Parse(V3);
        Assert.Multiple(() =>
        {
            Assert.That(h.Version, Is.EqualTo(3u));
            Assert.That(h.BackingFileOffset, Is.EqualTo(0x210UL));
            Assert.That(h.BackingFileSize, Is.EqualTo(7u));
            Assert.That(h.ClusterBits, Is.EqualTo(12u));
            Assert.That(h.Size, Is.EqualTo(1UL << 32));
            Assert.That(h.CryptMethod, Is.EqualTo(2u));
            Assert.That(h.L1Size, Is.EqualTo(8u));
            Assert.That(h.L1TableOffset, Is.EqualTo(0x3000UL));
            Assert.That(h.RefcountTableOffset, Is.EqualTo(0x1000UL));
            Assert.That(h.RefcountTableClusters, Is.EqualTo(2u));
            Assert.That(h.NbSnapshots, Is.EqualTo(3u));
            Assert.That(h.SnapshotsOffset, Is.EqualTo(0x7000UL));
            Assert.That(h.IncompatibleFeatures, Is.EqualTo(Features.IncompatDirty | Features.IncompatCompression));
            Assert.That(h.CompatibleFeatures, Is.EqualTo(Features.CompatLazyRefcounts));
            Assert.That(h.AutoclearFeatures, Is.EqualTo(Features.AutoclearBitmaps | (1UL << 63)));
            Assert.That(h.RefcountOrder, Is.EqualTo(5u));
            Assert.That(h.HeaderLength, Is.EqualTo(112u));
            Assert.That(h.CompressionType, Is.EqualTo((byte)1));
            Assert.That(h.UnknownFields, Is.Empty);
            Assert.That(h.ExtensionsStart, Is.EqualTo(112));
        });
    }

    [Test]
    public void V2_round_trips_byte_for_byte()
    {
        Assert.That(Header.Parse(V2).ToBytes(), Is.EqualTo(V2));
    }

    [Test]
    public void V3_round_trips_byte_for_byte()
    {
        Assert.That(Header.Parse(V3).ToBytes(), Is.EqualTo(V3));
    }

    [Test]
    public void V3_minimal_header_of_104_bytes_round_trips_without_a_compression_type()
    {
        var bytes = V3[..Header.V3MinLength];
        bytes[Header.HeaderLengthOffset + 3] = 104;
        var h = Header.Parse(bytes);
        Assert.That(h.CompressionType, Is.Zero);
        Assert.That(h.ToBytes(), Is.EqualTo(bytes));
    }

    [Test]
    public void Unknown_header_fields_are_preserved()
    {
        // header_length 128: 16 bytes of fields from a future spec after the padded compression type.
        byte[] future = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        var bytes = V3.Concat(future).ToArray();
        bytes[Header.HeaderLengthOffset + 3] = 128;
        var h = Header.Parse(bytes);
        Assert.That(h.UnknownFields, Is.EqualTo(future));
        Assert.That(h.ToBytes(), Is.EqualTo(bytes));
    }

    [Test]
    public void Field_offsets_follow_the_spec()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Header.VersionOffset, Is.EqualTo(4));
            Assert.That(Header.BackingFileOffsetOffset, Is.EqualTo(8));
            Assert.That(Header.BackingFileSizeOffset, Is.EqualTo(16));
            Assert.That(Header.ClusterBitsOffset, Is.EqualTo(20));
            Assert.That(Header.SizeOffset, Is.EqualTo(24));
            Assert.That(Header.CryptMethodOffset, Is.EqualTo(32));
            Assert.That(Header.L1SizeOffset, Is.EqualTo(36));
            Assert.That(Header.L1TableOffsetOffset, Is.EqualTo(40));
            Assert.That(Header.RefcountTableOffsetOffset, Is.EqualTo(48));
            Assert.That(Header.RefcountTableClustersOffset, Is.EqualTo(56));
            Assert.That(Header.NbSnapshotsOffset, Is.EqualTo(60));
            Assert.That(Header.SnapshotsOffsetOffset, Is.EqualTo(64));
            Assert.That(Header.V2Length, Is.EqualTo(72));
            Assert.That(Header.IncompatibleFeaturesOffset, Is.EqualTo(72));
            Assert.That(Header.CompatibleFeaturesOffset, Is.EqualTo(80));
            Assert.That(Header.AutoclearFeaturesOffset, Is.EqualTo(88));
            Assert.That(Header.RefcountOrderOffset, Is.EqualTo(96));
            Assert.That(Header.HeaderLengthOffset, Is.EqualTo(100));
            Assert.That(Header.CompressionTypeOffset, Is.EqualTo(104));
            Assert.That(Header.V3Length, Is.EqualTo(112));
        });
    }

    [Test]
    public void Parse_rejects_fewer_than_72_bytes()
    {
        var e = Assert.Throws<CorruptImageException>(() => Header.Parse(V2.AsSpan(0, 71)));
        Assert.That(e!.Message, Is.EqualTo("Image is not in qcow2 format"));
    }

    [Test]
    public void Read_magic_of_a_short_buffer_is_zero()
    {
        Assert.That(Header.ReadMagic([0x51, 0x49]), Is.Zero);
    }
}
