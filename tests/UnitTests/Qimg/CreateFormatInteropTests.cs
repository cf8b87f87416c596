using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// qemu-img create -f for the formats iotests meet on the way (issue 13 item 6): the file protocol creates a plain file
/// with its own options (preallocation, nocow, extent_size_hint), drivers without a create function say so, unknown
/// ones are unknown; -o help lists the same. Same output, exit code and file size as qemu-img.
/// </summary>
[TestFixture]
[ParallelInterop]
public class CreateFormatInteropTests : QimgFixture
{
    [TestCase("-f", "file", "x.img", "1M")]
    [TestCase("-f", "file", "x.img", "1000")]
    [TestCase("-f", "file", "-o", "preallocation=full", "x.img", "64k")]
    [TestCase("-f", "file", "-o", "preallocation=falloc", "x.img", "64k")]
    [TestCase("-f", "file", "-o", "preallocation=metadata", "x.img", "64k")]
    [TestCase("-f", "file", "-o", "size=1M", "x.img")]
    [TestCase("-f", "file", "-o", "nocow=on,extent_size_hint=1M", "x.img", "1M")]
    [TestCase("-f", "file", "-o", "foo=1", "x.img", "1M")]
    [TestCase("-f", "file", "-o", "help")]
    [TestCase("-f", "file", "-o", "help", "x.img")]
    [TestCase("-f", "null-co", "x.img", "1M")]
    [TestCase("-f", "copy-on-read", "x.img", "1M")]
    [TestCase("-f", "blkdebug", "-o", "foo=1", "x.img", "1M")]
    [TestCase("-f", "bochs", "-o", "help")]
    [TestCase("-f", "throttle", "x.img", "1M")]
    [TestCase("-f", "nosuch", "-o", "help")]
    public void Create_as_in_qemu_img(params string[] args)
    {
        string[] create = ["create", .. args];
        RunResult real = QemuImg(create);
        long? realSize = SizeOf("x.img");
        File.Delete(PathOf("x.img"));
        RunResult ours = Qimg(create);
        Assert.Multiple(() =>
        {
            Assert.That(ours.Out, Is.EqualTo(real.Out), "stdout");
            Assert.That(ours.Err, Is.EqualTo(real.Err), "stderr");
            Assert.That(ours.ExitCode, Is.EqualTo(real.ExitCode), "exit code");
            Assert.That(SizeOf("x.img"), Is.EqualTo(realSize), "file size");
        });
    }

    [Test]
    public void Convert_and_dd_write_through_the_file_protocol()
    {
        Sh("qemu-img", "create", "-f", "raw", "s.raw", "1M");
        Sh("qemu-io", "-f", "raw", "-c", "write -P 7 4k 8k", "s.raw");
        AssertSame("convert", "-f", "raw", "-O", "file", "s.raw", "c.img");
        FileBytes.AssertSame(PathOf("c.img"), PathOf("s.raw"));
        AssertSame("measure", "--size", "1G", "-O", "file");
    }

    private long? SizeOf(string name) => File.Exists(PathOf(name)) ? new FileInfo(PathOf(name)).Length : null;
}
