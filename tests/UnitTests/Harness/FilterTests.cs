using NUnit.Framework;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>Each shared filter does what its common.filter namesake does, on real QEMU output lines.</summary>
[TestFixture]
public sealed class FilterTests
{
    private static readonly ScenarioEnv Env = new("/tmp/x/001", "001");

    [Test]
    public void Testdir_replaces_the_directory_with_a_slash_after_it() =>
        Assert.That(Filters.TestDir("image: /tmp/x/001/t.qcow2 (/tmp/x/001)\n", Env), Is.EqualTo("image: TEST_DIR/t.qcow2 (/tmp/x/001)\n"));

    [Test]
    public void Imgfmt_replaces_every_occurrence() =>
        Assert.That(Filters.ImgFmt("qcow2: Image is not in qcow2 format\n", Env), Is.EqualTo("IMGFMT: Image is not in IMGFMT format\n"));

    [Test]
    public void Qemu_io_masks_statistics_and_prompt()
    {
        var raw = "qemu-io> wrote 65536/65536 bytes at offset 0\r\n64 KiB, 1 ops; 00.00 sec (49.301 MiB/sec and 788.8103 ops/sec)\nqemu-io> ";
        Assert.That(Filters.QemuIo(raw), Is.EqualTo("wrote 65536/65536 bytes at offset 0\n64 KiB, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)\n"));
        Assert.That(Filters.QemuIo("512 bytes, 1 ops; 0:00:01.25 (inf bytes/sec and inf ops/sec)\n"),
            Is.EqualTo("512 bytes, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)\n"));
    }

    [Test]
    public void Qemu_img_check_drops_statistics_and_end_offset() =>
        Assert.That(
            Filters.QemuImgCheck("No errors were found on the image.\n16/1024 = 1.56% allocated, 12.50% fragmented, 6.25% compressed clusters\nImage end offset: 1441792\n"),
            Is.EqualTo("No errors were found on the image.\n"));

    [Test]
    public void Qemu_img_check_maps_unsupported_checks_to_no_errors() =>
        Assert.That(Filters.QemuImgCheck("qemu-img: This image format does not support checks\n"), Is.EqualTo("No errors were found on the image.\n"));

    [Test]
    public void Qmp_masks_timestamps_and_greeting() =>
        Assert.That(
            Filters.Qmp("{\"QMP\": {\"version\": {}}}\n{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 12}, \"event\": \"X\"}\n"),
            Is.EqualTo("QMP_VERSION\n{\"timestamp\": {\"seconds\":  TIMESTAMP, \"microseconds\":  TIMESTAMP}, \"event\": \"X\"}\n"));

    [Test]
    public void Img_create_keeps_fmt_size_backing_in_order()
    {
        var raw = "Formatting '/tmp/x/001/t.qcow2', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=67108864 backing_file=/tmp/x/001/t.qcow2.base backing_fmt=qcow2 lazy_refcounts=off refcount_bits=16\n";
        Assert.That(Filters.ImgCreate(raw, Env),
            Is.EqualTo("Formatting 'TEST_DIR/t.IMGFMT', fmt=IMGFMT size=67108864 backing_file=TEST_DIR/t.IMGFMT.base backing_fmt=IMGFMT\n"));
    }

    [Test]
    public void Img_create_passes_other_lines_with_names_masked() =>
        Assert.That(Filters.ImgCreate("qemu-img: /tmp/x/001/t.qcow2: bad\n", Env), Is.EqualTo("qemu-img: TEST_DIR/t.IMGFMT: bad\n"));

    [Test]
    public void Qemu_img_map_removes_host_offsets()
    {
        var human = "Offset          Length          Mapped to       File\n0x40000         0x30000         0x60000         /tmp/x/001/t.qcow2\n";
        Assert.That(Filters.QemuImgMap(human, Env), Is.EqualTo("Offset          Length          File\n0x40000         0x30000         TEST_DIR/t.IMGFMT\n"));
        var json = "[{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 327680}]\n";
        Assert.That(Filters.QemuImgMap(json, Env), Does.EndWith("\"data\": true, \"offset\": OFFSET}]\n"));
    }

    [Test]
    public void Grep_selects_lines_and_reports_no_match_with_status_1()
    {
        Assert.That(Filters.Apply("grep", ["-v", "b"], "a\nb\nc\n", Env), Is.EqualTo(("a\nc\n", 0)));
        Assert.That(Filters.Apply("grep", ["-E", "a|c"], "a\nb\nc\n", Env), Is.EqualTo(("a\nc\n", 0)));
        Assert.That(Filters.Apply("grep", ["z"], "a\n", Env), Is.EqualTo(("", 1)));
    }

    [Test]
    public void Head_and_tail_take_lines() =>
        Assert.That((Filters.Apply("head", ["-n", "1"], "a\nb\n", Env).Output, Filters.Apply("tail", ["-n", "1"], "a\nb\n", Env).Output),
            Is.EqualTo(("a\n", "b\n")));
}
