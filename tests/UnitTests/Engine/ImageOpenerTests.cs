using Qcow2.Block;

namespace Qcow2.UnitTests.Engine;

/// <summary>Opening paths that are not image files, with QEMU's file driver messages.</summary>
[TestFixture]
public sealed class ImageOpenerTests : FolderFixture
{
    [Test]
    public void Open_refuses_a_directory_as_qemu_does()
    {
        string dir = Dir;
        var ro = Assert.Throws<ImageOpenException>(() => ImageOpener.Open(dir, new OpenOptions { ReadOnly = true }));
        Assert.That(ro!.Message, Is.EqualTo($"'file' driver requires '{dir}' to be a regular file"));
        var rw = Assert.Throws<ImageOpenException>(() => ImageOpener.Open(dir, new OpenOptions()));
        Assert.That(rw!.Message, Is.EqualTo($"Could not open '{dir}': Is a directory"));
    }

    [Test]
    public void Open_names_a_missing_file()
    {
        string path = PathOf("missing.qcow2");
        var e = Assert.Throws<ImageOpenException>(() => ImageOpener.Open(path, new OpenOptions()));
        Assert.That(e!.Message, Is.EqualTo($"Could not open '{path}': No such file or directory"));
    }

    [TestCase(0u, "raw")]
    [TestCase(1u, "qcow")]
    [TestCase(2u, "qcow2")]
    [TestCase(3u, "qcow2")]
    [TestCase(0xffffffffu, "qcow2")]
    public void Probe_follows_qemus_qcow_and_qcow2_probes(uint version, string format)
    {
        byte[] head = new byte[512];
        new byte[] { 0x51, 0x46, 0x49, 0xfb }.CopyTo(head, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), version);
        using var storage = new Qcow2.Storage.MemoryStorage(head);
        Assert.That(ImageOpener.Probe(storage), Is.EqualTo(format));
    }

    [Test]
    public void Open_refuses_a_qcow_version_1_file_with_a_clear_message_and_leaves_it_alone()
    {
        string path = PathOf("v1.img");
        byte[] head = new byte[4096];
        new byte[] { 0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1 }.CopyTo(head, 0);
        File.WriteAllBytes(path, head);
        var e = Assert.Throws<ImageOpenException>(() => ImageOpener.Open(path, new OpenOptions()));
        Assert.That(e!.Message, Is.EqualTo("QCOW version 1 images (QEMU's qcow driver) are not supported by this engine"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(head));
    }

    [TestCase(0, "QED\0", "qed")]
    [TestCase(0, "KDMV", "vmdk")]
    [TestCase(0, "conectix", "vpc")]
    [TestCase(0, "vhdxfile", "vhdx")]
    [TestCase(0, "WithoutFreeSpace", "parallels")]
    [TestCase(0, "hello world", "raw")]
    public void Sniff_names_the_format_a_first_sector_claims(int offset, string magic, string format)
    {
        byte[] head = new byte[512];
        System.Text.Encoding.ASCII.GetBytes(magic).CopyTo(head, offset);
        Assert.That(FormatSniffer.Sniff(head), Is.EqualTo(format));
    }

    [Test]
    public void A_probed_raw_image_refuses_a_write_that_makes_block_0_another_format()
    {
        string path = PathOf("raw.img");
        File.WriteAllBytes(path, new byte[65536]);
        byte[] qcow2Magic = [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3];
        using (var probed = ImageOpener.Open(path, new OpenOptions()))
        {
            var e = Assert.Throws<BlockIOException>(() => probed.Write(0, qcow2Magic));
            Assert.That(e!.Errno, Is.EqualTo(Errno.EPERM));
            Assert.That(() => probed.Write(512, qcow2Magic), Throws.Nothing, "only block 0 is restricted");
            Assert.That(() => probed.Write(0, new byte[512]), Throws.Nothing, "a write that keeps block 0 raw is allowed");
        }
        Assert.That(File.ReadAllBytes(path).AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[8]));
        using (var explicitRaw = ImageOpener.Open(path, new OpenOptions { Format = "raw" }))
        {
            Assert.That(() => explicitRaw.Write(0, qcow2Magic), Throws.Nothing, "-f raw lifts the restriction");
        }
    }
}
