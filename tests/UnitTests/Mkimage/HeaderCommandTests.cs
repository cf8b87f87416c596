using System.Buffers.Binary;
using NUnit.Framework;
using Qcow2.Format;

namespace Qcow2.UnitTests.Mkimage;

/// <summary>set-header, set-feature-bit, add-header-ext and del-header-ext, with qcow2.py's messages on failure.</summary>
[TestFixture]
public class HeaderCommandTests : MkimageFixture
{
    private Header ParseHeader(string name) => Header.Parse(Bytes(name));

    [TestCase("size", "0x8000000", 0x8000000UL)]
    [TestCase("l1_table_offset", "196608", 0x30000UL)]
    [TestCase("snapshot_offset", "0x70000", 0x70000UL)]
    [TestCase("nb_snapshots", "0o7", 7UL)]
    [TestCase("incompatible_features", "0b11", 3UL)]
    [TestCase("autoclear_features", "-1", ulong.MaxValue)]
    [TestCase("refcount_order", "0x_6", 6UL)]
    public void Set_header_writes_the_field_as_int_v_0_parses_it(string field, string value, ulong expected)
    {
        Create("img", "64M");
        MkOk("img", "set-header", field, value);
        Assert.That(MkOk("img", "peek", "header." + field), Is.EqualTo($"0x{expected:x}\n"));
    }

    [Test]
    public void Set_header_leaves_an_image_qemu_img_still_reads()
    {
        Create("img", "64M");
        MkOk("img", "set-header", "size", "0x8000000");
        Assert.That(Qemu("qemu-img", "info", "img"), Does.Contain("virtual size: 128 MiB (134217728 bytes)"));
        var h = ParseHeader("img");
        Assert.That(h.HeaderLength, Is.EqualTo(112));
    }

    [Test]
    public void Set_header_on_v2_writes_the_v2_field()
    {
        Create("img", "64M", "compat=0.10");
        MkOk("img", "set-header", "snapshot_offset", "0x12345678");
        Assert.That(ParseHeader("img").SnapshotsOffset, Is.EqualTo(0x12345678UL));
    }

    [Test]
    public void Set_header_refuses_a_v3_field_on_a_v2_image()
    {
        Create("img", "64M", "compat=0.10");
        var before = Bytes("img");
        MkFails("mkimage: set-header: refcount_order is not stored in a version 2 header; image not changed " +
            "(use poke header.refcount_order to write its bytes anyway)", "img", "set-header", "refcount_order", "5");
        Assert.That(Bytes("img"), Is.EqualTo(before));
    }

    [Test]
    public void Set_header_rejects_an_unknown_field_with_qcow2_py_s_message()
    {
        Create("img", "64M");
        MkPrints(1, "'snapshots_offset' is not a known header field\n", "img", "set-header", "snapshots_offset", "0");
    }

    [TestCase("abc")]
    [TestCase("010")]
    [TestCase("0x")]
    [TestCase("1__0")]
    [TestCase("")]
    public void Set_header_rejects_an_invalid_number_with_qcow2_py_s_message(string value)
    {
        Create("img", "64M");
        MkPrints(1, $"'{value}' is not a valid number\n", "img", "set-header", "size", value);
    }

    [Test]
    public void Set_header_rejects_a_value_wider_than_the_field()
    {
        Create("img", "64M");
        MkFails("mkimage: cluster_bits: value 4294967296 does not fit in 32 bits", "img", "set-header", "cluster_bits", "0x100000000");
    }

    [Test]
    public void Set_header_refuses_a_header_length_that_pushes_the_extensions_out_of_cluster_0()
    {
        Create("img", "64M");
        MkFailsLeavingImgUnchanged("mkimage: the header extensions would end at 0x10188, past the end of cluster 0", "img", "set-header", "header_length", "0xfff8");
    }

    [Test]
    public void Set_header_header_length_moves_the_extensions_as_qcow2_py_does()
    {
        Create("img", "64M");
        MkOk("img", "set-header", "header_length", "120");
        Assert.That(MkOk("img", "dump-header-exts"), Does.Contain("0x6803f857 (Feature table)\nlength                    384\n"));
        Assert.That(BinaryPrimitives.ReadUInt32BigEndian(Bytes("img").AsSpan(120)), Is.EqualTo(HeaderExtension.FeatureTable));
    }

    [TestCase("incompatible", "1", 0x2UL, 0UL, 0UL)]
    [TestCase("compatible", "0", 0UL, 0x1UL, 0UL)]
    [TestCase("autoclear", "63", 0UL, 0UL, 0x8000000000000000UL)]
    public void Set_feature_bit_sets_one_bit_in_the_chosen_bitmap(string group, string bit, ulong inc, ulong comp, ulong auto)
    {
        Create("img", "64M");
        MkOk("img", "set-feature-bit", group, bit);
        var h = ParseHeader("img");
        Assert.That((h.IncompatibleFeatures, h.CompatibleFeatures, h.AutoclearFeatures), Is.EqualTo((inc, comp, auto)));
    }

    [Test]
    public void Set_feature_bit_corrupt_makes_qemu_refuse_read_write_open()
    {
        Create("img", "64M");
        MkOk("img", "set-feature-bit", "incompatible", "1");
        Assert.That(Qemu("qemu-io", "-c", "write 0 512", "img"),
            Does.Contain("qcow2: Image is corrupt; cannot be opened read/write"));
    }

    [TestCase("64")]
    [TestCase("-1")]
    [TestCase("x")]
    public void Set_feature_bit_rejects_a_bad_bit_with_qcow2_py_s_message(string bit)
    {
        Create("img", "64M");
        MkPrints(1, $"'{bit}' is not a valid bit number in range [0, 64)\n", "img", "set-feature-bit", "incompatible", bit);
    }

    [Test]
    public void Set_feature_bit_rejects_a_bad_group_with_qcow2_py_s_message()
    {
        Create("img", "64M");
        MkPrints(1, "'incompat' is not a valid group, try 'incompatible', 'compatible', or 'autoclear'\n", "img", "set-feature-bit", "incompat", "0");
    }

    [Test]
    public void Set_feature_bit_refuses_a_v2_image()
    {
        Create("img", "64M", "compat=0.10");
        MkFails("mkimage: set-feature-bit: a version 2 header has no feature bits; image not changed " +
            "(use poke header.incompatible_features to write its bytes anyway)", "img", "set-feature-bit", "incompatible", "0");
    }

    [Test]
    public void Add_header_ext_moves_the_backing_file_name_after_the_extensions()
    {
        Create("base", "64M");
        Assert.That(Qemu("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base", "-F", "qcow2", "top"), Is.Empty);
        MkOk("top", "add-header-ext", "0x12345678", "This is a test header extension");
        var h = ParseHeader("top");
        // 0x210 before; the new extension takes 8 + 32 bytes.
        Assert.That(h.BackingFileOffset, Is.EqualTo(0x238UL));
        Assert.That(System.Text.Encoding.ASCII.GetString(Bytes("top"), 0x238, 4), Is.EqualTo("base"));
        Assert.That(Qemu("qemu-img", "info", "top"), Does.Contain("backing file: base"));
    }

    [Test]
    public void Add_header_ext_stdio_reads_the_data_from_standard_input()
    {
        Create("img", "64M");
        var r = MkWithInput("from stdin", "img", "add-header-ext-stdio", "0x12345678");
        Assert.That(r.ExitCode, Is.Zero);
        Assert.That(MkOk("img", "dump-header-exts"), Does.Contain("data                      'from stdin'\n"));
    }

    [Test]
    public void Add_header_ext_rejects_a_bad_magic_with_qcow2_py_s_message()
    {
        Create("img", "64M");
        MkPrints(1, "'magic' is not a valid magic number\n", "img", "add-header-ext", "magic", "x");
    }

    [Test]
    public void Add_header_ext_refuses_data_that_would_not_fit_in_cluster_0()
    {
        // With 512-byte clusters QEMU leaves out the feature table: extensions start at 112 and must end by 512.
        Create("img", "64M", "cluster_size=512");
        MkFailsLeavingImgUnchanged("mkimage: the header extensions would end at 0x210, past the end of cluster 0", "img", "add-header-ext", "0x12345678", new string('x', 400));
    }

    [Test]
    public void Del_header_ext_removes_the_extension()
    {
        Create("img", "64M");
        var before = Bytes("img");
        MkOk("img", "add-header-ext", "0x12345678", "abc");
        MkOk("img", "del-header-ext", "0x12345678");
        Assert.That(MkOk("img", "dump-header-exts"), Does.Not.Contain("0x12345678"));
        Assert.That(Bytes("img").AsSpan(0, 0x200).ToArray(), Is.EqualTo(before.AsSpan(0, 0x200).ToArray()));
    }

    [Test]
    public void Del_header_ext_of_a_missing_extension_says_so_and_succeeds()
    {
        Create("img", "64M");
        MkPrints(0, "No such header extension\n", "img", "del-header-ext", "0x12345678");
    }
}
