using NUnit.Framework;
using Qcow2.UnitTests.Qimg;

namespace Qcow2.UnitTests.Compression;

/// <summary>zstd images against QEMU 7.2 in both directions: files byte-identical where QEMU's output is deterministic,
/// clusters either tool wrote read back by the other, and check clean.</summary>
[TestFixture]
[Category("Interop")]
public class ZstdInteropTests : QimgFixture
{
    [SetUp]
    public void Source()
    {
        ToolProcess.Require("qemu-img", "qemu-io");
        var data = new byte[3 << 20];
        var r = new Random(5);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = i % 3 == 0 ? (byte)0 : (byte)r.Next(16);
        }
        Array.Clear(data, 1 << 20, 1 << 20); // a zero cluster run, skipped by convert
        File.WriteAllBytes(PathOf("src.raw"), data);
    }

    [TestCase("65536")]
    [TestCase("4096")]
    public void Convert_c_writes_the_file_qemu_img_writes(string clusterSize)
    {
        string[] args = ["convert", "-c", "-O", "qcow2", "-o", $"compression_type=zstd,cluster_size={clusterSize}", "src.raw"];
        Sh("qemu-img", [.. args, "qemu.qcow2"]);
        var ours = Qimg([.. args, "ours.qcow2"]);
        Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());
        FileBytes.AssertSame(PathOf("ours.qcow2"), PathOf("qemu.qcow2"));
        AssertSame("compare", "ours.qcow2", "src.raw");
        AssertSame("check", "ours.qcow2");
        AssertSame("info", "ours.qcow2");
    }

    [Test]
    public void Clusters_qemu_io_compresses_read_back_and_ours_read_back_in_qemu_io()
    {
        Sh("qemu-img", "create", "-f", "qcow2", "-o", "compression_type=zstd", "q.qcow2", "4M");
        AssertSame("create", "-f", "qcow2", "-o", "compression_type=zstd", "o.qcow2", "4M");
        string[] writes = ["-c", "write -c -P 0x11 0 64k", "-c", "write -c -P 0x22 64k 64k", "-c", "write -c -P 0x33 1M 64k"];
        string[] reads = ["-c", "read -P 0x11 0 64k", "-c", "read -P 0x22 64k 64k", "-c", "read -P 0x33 1M 64k", "-c", "read -P 0 2M 64k"];
        Sh("qemu-io", [.. writes, "q.qcow2"]);
        var w = InProcess.Qio(Dir, [.. writes, "o.qcow2"]);
        Assert.That(w.ExitCode, Is.EqualTo(0), w.ToString());
        FileBytes.AssertSame(PathOf("o.qcow2"), PathOf("q.qcow2"), "qio write -c");
        var r = InProcess.Qio(Dir, [.. reads, "q.qcow2"]);
        Assert.That(r.Out, Does.Not.Contain("Pattern verification failed"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var q = Qemu("qemu-io", [.. reads, "o.qcow2"]);
        Assert.That(q.Out, Does.Not.Contain("Pattern verification failed"));
        AssertSame("check", "o.qcow2");
        AssertSame("map", "--output=json", "o.qcow2");
    }

    [Test]
    public void Amend_refuses_what_qemu_img_refuses_on_zstd_images()
    {
        Sh("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", "src.raw", "z.qcow2");
        AssertSame("amend", "-o", "compression_type=zlib", "z.qcow2");
        AssertSame("amend", "-o", "compat=0.10", "z.qcow2");
        AssertSame("create", "-f", "qcow2", "-o", "compat=0.10,compression_type=zstd", "v2.qcow2", "1M");
    }

    [TestCase(8192, "read failed: Input/output error", TestName = "A_frame_of_more_than_a_cluster_fails_reads_as_in_qemu_io")]
    [TestCase(2048, "read 4096/4096 bytes at offset 0", TestName = "A_cluster_stored_as_two_frames_reads_back_as_in_qemu_io")]
    public void Stored_frames_are_read_as_qemu_io_reads_them(int frameBytes, string outcome)
    {
        // qemu-io compresses 4 KiB of 0x5a to a frame of a few bytes at the start of a sector; that frame is replaced
        // by frames of the same data (as many as it takes to make the cluster) that fit in the same sector.
        Sh("qemu-img", "create", "-f", "qcow2", "-o", "compression_type=zstd,cluster_size=4096", "z.qcow2", "64k");
        Sh("qemu-io", "-c", "write -c -P 0x5a 0 4k", "z.qcow2");
        byte[] image = File.ReadAllBytes(PathOf("z.qcow2"));
        int at = image.AsSpan().IndexOf(new byte[] { 0x28, 0xb5, 0x2f, 0xfd }); // the frame's magic number, little-endian
        Assert.That(at % 512, Is.EqualTo(0), "the cluster starts a sector");
        byte[] frame = Qcow2.Compression.ClusterZstd.Compress(Enumerable.Repeat((byte)0x5a, frameBytes).ToArray())!;
        int frames = Math.Max(1, 4096 / frameBytes);
        Array.Resize(ref image, Math.Max(image.Length, at + (frames * frame.Length))); // the image ends with the cluster
        for (int n = 0; n < frames; n++)
        {
            frame.CopyTo(image, at + (n * frame.Length));
        }
        File.WriteAllBytes(PathOf("z.qcow2"), image);
        string[] read = ["-c", "read -P 0x5a 0 4k", "z.qcow2"];
        var q = Qemu("qemu-io", read);
        var o = InProcess.Qio(Dir, read);
        Assert.That(q.Out + q.Err, Does.Contain(outcome), "qemu-io");
        Assert.That(o.Out + o.Err, Does.Contain(outcome), "qio");
        Assert.That(o.Out + o.Err, Does.Not.Contain("Pattern verification failed").And.Not.Contain("Exception"));
    }
}
