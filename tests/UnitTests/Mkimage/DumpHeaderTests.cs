using NUnit.Framework;

namespace Qcow2.UnitTests.Mkimage;

/// <summary>dump-header and dump-header-exts print what QEMU's iotests qcow2.py prints for images made by real qemu-img.</summary>
[TestFixture]
public class DumpHeaderTests : MkimageFixture
{
    // The header block as qcow2.py prints it for `qemu-img create -f qcow2 -o compat=1.1 img 64M` (cf. iotests 031.out).
    private const string V3Header64M =
        "magic                     0x514649fb\n" +
        "version                   3\n" +
        "backing_file_offset       0x0\n" +
        "backing_file_size         0x0\n" +
        "cluster_bits              16\n" +
        "size                      67108864\n" +
        "crypt_method              0\n" +
        "l1_size                   1\n" +
        "l1_table_offset           0x30000\n" +
        "refcount_table_offset     0x10000\n" +
        "refcount_table_clusters   1\n" +
        "nb_snapshots              0\n" +
        "snapshot_offset           0x0\n" +
        "incompatible_features     []\n" +
        "compatible_features       []\n" +
        "autoclear_features        []\n" +
        "refcount_order            4\n" +
        "header_length             112\n" +
        "\n";

    // QEMU 7.2 writes eight 48-byte feature table entries.
    private const string FeatureTable =
        "Header extension:\n" +
        "magic                     0x6803f857 (Feature table)\n" +
        "length                    384\n" +
        "data                      <binary>\n" +
        "\n";

    [Test]
    public void Dump_header_of_a_compat_1_1_image_matches_qcow2_py()
    {
        Create("img", "64M", "compat=1.1");
        Assert.That(MkOk("img", "dump-header"), Is.EqualTo(V3Header64M + FeatureTable));
    }

    [Test]
    public void Dump_header_of_a_compat_0_10_image_prints_the_v3_fields_with_their_defaults()
    {
        Create("img", "64M", "compat=0.10");
        string expected = V3Header64M.Replace("version                   3", "version                   2")
            .Replace("header_length             112", "header_length             72");
        Assert.That(MkOk("img", "dump-header"), Is.EqualTo(expected));
    }

    [Test]
    public void Dump_header_of_a_v2_image_ignores_the_bytes_where_v3_fields_would_be()
    {
        Create("img", "64M", "compat=0.10");
        // Garbage where a v3 header would keep its feature bits; a v2 header ends at byte 72.
        MkOk("img", "poke-raw", "72", @"\xff\xff\xff\xff");
        Assert.That(MkOk("img", "dump-header"), Does.Contain("incompatible_features     []\n"));
    }

    [Test]
    public void Dump_header_shows_the_backing_file_fields_and_the_backing_format_extension()
    {
        Create("base", "64M");
        Assert.That(Qemu("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base", "-F", "qcow2", "top"), Is.Empty);
        string expected = V3Header64M
            .Replace("backing_file_offset       0x0", "backing_file_offset       0x210")
            .Replace("backing_file_size         0x0", "backing_file_size         0x4")
            + "Header extension:\n" +
            "magic                     0xe2792aca (Backing format)\n" +
            "length                    5\n" +
            "data                      'qcow2'\n" +
            "\n" + FeatureTable;
        Assert.That(MkOk("top", "dump-header"), Is.EqualTo(expected));
    }

    [Test]
    public void Dump_header_exts_prints_only_the_extensions()
    {
        Create("img", "64M");
        Assert.That(MkOk("img", "dump-header-exts"), Is.EqualTo(FeatureTable));
    }

    [Test]
    public void Dump_header_lists_set_feature_bits_by_number()
    {
        Create("img", "64M");
        MkOk("img", "set-feature-bit", "incompatible", "0");
        MkOk("img", "set-feature-bit", "incompatible", "1");
        MkOk("img", "set-feature-bit", "compatible", "63");
        string dump = MkOk("img", "dump-header");
        Assert.Multiple(() =>
        {
            Assert.That(dump, Does.Contain("incompatible_features     [0, 1]\n"));
            Assert.That(dump, Does.Contain("compatible_features       [63]\n"));
            Assert.That(dump, Does.Contain("autoclear_features        []\n"));
        });
    }

    [Test]
    public void Dump_header_quotes_printable_extension_data_and_hides_binary_data()
    {
        Create("img", "64M");
        MkOk("img", "add-header-ext", "0x12345678", "This is a test header extension");
        MkOk("img", "add-header-ext", "0x0badcafe", "tab\there");
        string exts = MkOk("img", "dump-header-exts");
        Assert.That(exts, Is.EqualTo(FeatureTable +
            "Header extension:\n" +
            "magic                     0x12345678 (<unknown>)\n" +
            "length                    31\n" +
            "data                      'This is a test header extension'\n" +
            "\n" +
            "Header extension:\n" +
            "magic                     0xbadcafe (<unknown>)\n" +
            "length                    8\n" +
            "data                      'tab\there'\n" +
            "\n"));
    }

    [Test]
    public void Dump_header_prints_the_bitmaps_extension_directory_and_tables()
    {
        Create("img", "10M");
        Qemu("qemu-io", "-c", "write 0 64k", "img");
        Assert.That(Qemu("qemu-img", "bitmap", "--add", "img", "bitmap-1"), Is.Empty);
        Assert.That(Qemu("qemu-img", "bitmap", "--add", "--disable", "img", "bitmap-2"), Is.Empty);
        Qemu("qemu-io", "-c", "write 1M 64k", "img");
        string exts = MkOk("img", "dump-header-exts");
        // Offsets depend on QEMU's allocator; the shape and the fixed values are what qcow2.py prints (cf. iotests 303.out).
        Assert.That(exts, Does.Match(
            "^" + FeatureTable.Replace("(", @"\(").Replace(")", @"\)") +
            @"Header extension:\n" +
            @"magic                     0x23852875 \(Bitmaps\)\n" +
            @"length                    24\n" +
            @"nb_bitmaps                2\n" +
            @"reserved32                0\n" +
            @"bitmap_directory_size     0x40\n" +
            @"bitmap_directory_offset   0x[0-9a-f]+0000\n" +
            @"\n" +
            @"Bitmap name               bitmap-1\n" +
            @"bitmap_table_offset       0x[0-9a-f]+0000\n" +
            @"bitmap_table_size         1\n" +
            @"flags                     0x2 \(\['auto'\]\)\n" +
            @"type                      1\n" +
            @"granularity_bits          16\n" +
            @"name_size                 8\n" +
            @"extra_data_size           0\n" +
            @"Bitmap table   type            size         offset\n" +
            @"0              serialized      65536        [1-9][0-9]*\n" +
            @"\n" +
            @"Bitmap name               bitmap-2\n" +
            @"bitmap_table_offset       0x[0-9a-f]+0000\n" +
            @"bitmap_table_size         1\n" +
            @"flags                     0x0 \(\[\]\)\n" +
            @"type                      1\n" +
            @"granularity_bits          16\n" +
            @"name_size                 8\n" +
            @"extra_data_size           0\n" +
            @"Bitmap table   type            size         offset\n" +
            @"0              all-zeroes      0            0\n" +
            @"\n$"));
    }

    [Test]
    public void Dump_header_survives_a_header_length_past_the_end_of_the_file()
    {
        Create("img", "64M");
        MkOk("img", "poke", "header.header_length", "0xfff8");
        Assert.That(MkOk("img", "dump-header"), Is.EqualTo(V3Header64M.Replace("112", "65528")));
    }

    [Test]
    public void Dump_header_reports_a_bitmap_directory_beyond_the_end_of_the_file()
    {
        Create("img", "64M");
        // nb_bitmaps 1, reserved 0, directory size 0x40, directory offset 0x1000000000 (far past the end of the file).
        string ext = "\0\0\0\x01" + "\0\0\0\0" + "\0\0\0\0\0\0\0\x40" + "\0\0\0\x10\0\0\0\0";
        MkOk("img", "add-header-ext", "0x23852875", ext);
        var r = Mk("img", "dump-header");
        Assert.Multiple(() =>
        {
            Assert.That(r.ExitCode, Is.EqualTo(1));
            Assert.That(r.Out, Is.Empty);
            Assert.That(r.Err, Is.EqualTo(
                "mkimage: bitmap directory entry 0 at 0x1000000000 (24 bytes) lies beyond the end of the file (size 0x30008)\n"));
        });
    }
}
