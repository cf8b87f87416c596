namespace Qcow2.UnitTests.Interop;

/// <summary>
/// External data files (issue 13 item 5) against real qemu-img/qemu-io: the same command sequence gives the same
/// qcow2 file and data file byte for byte, images each side makes read the same on the other with a clean check,
/// and errors have QEMU's text and exit status.
/// </summary>
[TestFixture]
public sealed class DataFileInteropTests : InteropFixture
{
    private static readonly string[] Writes =
    [
        "write -P 0x11 0 64k", "write -P 0x22 256k 64k", "discard 0 64k", "write -z 256k 64k",
        "write -P 0x33 68k 4k", "write -P 0x44 1000k 20k", "write -z -u 512k 64k",
    ];

    [TestCase("data_file=d.raw")]
    [TestCase("data_file=d.raw,data_file_raw=on")]
    [TestCase("data_file=d.raw,cluster_size=4096")]
    [TestCase("data_file=d.raw,preallocation=metadata")]
    public void Same_sequence_gives_qemus_bytes(string options)
    {
        string q = Sub("q"), o = Sub("o");
        ToolProcess.Must("qemu-img", q, "create", "-q", "-f", "qcow2", "-o", options, "t.qcow2", "1M");
        Assert.That(Qimg(o, "create", "-q", "-f", "qcow2", "-o", options, "t.qcow2", "1M").ExitCode, Is.EqualTo(0));
        var qio = Writes.SelectMany(c => new[] { "-c", c }).Append("t.qcow2").ToArray();
        ToolProcess.Must("qemu-io", q, qio);
        Assert.That(Qio(o, qio).ExitCode, Is.EqualTo(0));
        foreach (string f in new[] { "t.qcow2", "d.raw" })
        {
            long at = FirstDifference(File.ReadAllBytes(Path.Combine(q, f)), File.ReadAllBytes(Path.Combine(o, f)));
            Assert.That(at, Is.EqualTo(-1), $"{f} differs from QEMU's at 0x{at:x} ({options})");
        }
        foreach (var cmd in new[] { new[] { "map", "t.qcow2" }, ["map", "--output=json", "t.qcow2"], ["check", "t.qcow2"], ["info", "t.qcow2"] })
        {
            var expected = Qemu("qemu-img", q, cmd);
            var actual = Qimg(o, cmd);
            Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), string.Join(' ', cmd));
            Assert.That(WithoutDiskSize(actual.Out), Is.EqualTo(WithoutDiskSize(expected.Out)), string.Join(' ', cmd));
        }
    }

    [Test]
    public void Each_side_reads_the_others_images()
    {
        string q = Sub("q"), o = Sub("o");
        ToolProcess.Must("qemu-img", q, "create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "t.qcow2", "1M");
        ToolProcess.Must("qemu-io", q, "-c", "write -P 0x5a 4k 100k", "-c", "write -P 0 300k 8k", "t.qcow2");
        Assert.That(Qimg(o, "create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "t.qcow2", "1M").ExitCode, Is.EqualTo(0));
        Assert.That(Qio(o, "-c", "write -P 0x5a 4k 100k", "-c", "write -P 0 300k 8k", "t.qcow2").ExitCode, Is.EqualTo(0));
        // QEMU 7.2 opens the stored data file name relative to the working directory.
        var check = Qemu("qemu-img", o, "check", "t.qcow2");
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
        Assert.That(check.Out, Does.Contain("No errors were found on the image."), check.ToString());
        var ours = Qimg(q, "convert", "-O", "raw", "t.qcow2", "ours.raw");
        Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());
        ToolProcess.Must("qemu-img", o, "convert", "-O", "raw", "t.qcow2", "theirs.raw");
        FileBytes.AssertSame(Path.Combine(q, "ours.raw"), Path.Combine(o, "theirs.raw"));
        var compare = Qemu("qemu-img", Dir, "compare", "--image-opts",
            "driver=qcow2,file.filename=q/t.qcow2,data-file.filename=q/d.raw", "driver=qcow2,file.filename=o/t.qcow2,data-file.filename=o/d.raw");
        Assert.That(compare.ExitCode, Is.EqualTo(0), compare.ToString());
    }

    [TestCase("create -f qcow2 -o data_file=x.raw,compat=0.10 v.qcow2 1M")]
    [TestCase("create -f qcow2 -o data_file=nodir/x.raw v.qcow2 1M")]
    [TestCase("create -f qcow2 -o data_file=x.raw,data_file_raw=on -b b.qcow2 -F qcow2 v.qcow2 1M")]
    [TestCase("info --image-opts driver=qcow2,file.filename=p.qcow2,data-file.filename=d.raw")]
    [TestCase("info --image-opts driver=qcow2,file.filename=t.qcow2,data-file=node0")]
    [TestCase("check t2.qcow2")]
    [TestCase("amend -o data_file=y.raw p.qcow2")]
    [TestCase("amend -o data_file_raw=on t.qcow2")]
    [TestCase("convert -c -O qcow2 -o data_file=c.raw t.qcow2 c.qcow2")]
    public void Errors_match_qemu_img(string command)
    {
        string q = Sub("q"), o = Sub("o");
        foreach (string dir in new[] { q, o })
        {
            ToolProcess.Must("qemu-img", dir, "create", "-q", "-f", "qcow2", "p.qcow2", "1M");
            ToolProcess.Must("qemu-img", dir, "create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "t.qcow2", "1M");
            ToolProcess.Must("qemu-img", dir, "create", "-q", "-f", "qcow2", "-o", "data_file=gone.raw", "t2.qcow2", "1M");
            File.Delete(Path.Combine(dir, "gone.raw"));
        }
        string[] args = command.Split(' ');
        var expected = Qemu("qemu-img", q, args);
        var actual = Qimg(o, args);
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), actual.ToString());
        Assert.That(Normalize(actual.Err), Is.EqualTo(Normalize(expected.Err)), command);
        Assert.That(File.Exists(Path.Combine(o, "x.raw")), Is.EqualTo(File.Exists(Path.Combine(q, "x.raw"))), "data file left behind");
    }

    [TestCase("read 0 4k", "t2.qcow2")]
    [TestCase("write -c 0 64k", "t.qcow2")]
    public void Qio_errors_match_qemu_io(string cmd, string image)
    {
        string q = Sub("q"), o = Sub("o");
        foreach (string dir in new[] { q, o })
        {
            ToolProcess.Must("qemu-img", dir, "create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "t.qcow2", "1M");
            ToolProcess.Must("qemu-img", dir, "create", "-q", "-f", "qcow2", "-o", "data_file=gone.raw", "t2.qcow2", "1M");
            File.Delete(Path.Combine(dir, "gone.raw"));
        }
        var expected = Qemu("qemu-io", q, "-c", cmd, image);
        var actual = Qio(o, "-c", cmd, image);
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), actual.ToString());
        Assert.That(Normalize(actual.Out + actual.Err), Is.EqualTo(Normalize(expected.Out + expected.Err)), cmd);
    }

    /// <summary>qemu-img info's disk size depends on the host file system's allocation, not on the image.</summary>
    private static string WithoutDiskSize(string text) =>
        string.Join('\n', Normalize(text).Split('\n').Where(l => !l.StartsWith("disk size:", StringComparison.Ordinal)));

    private string Sub(string name)
    {
        string d = Path.Combine(Dir, name);
        Directory.CreateDirectory(d);
        return d;
    }
}
