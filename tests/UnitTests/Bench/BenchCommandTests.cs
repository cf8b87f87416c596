using System.Text.RegularExpressions;
using NUnit.Framework;
using Qcow2.Tools.Qimg;
using Qcow2.UnitTests.Qimg;

namespace Qcow2.UnitTests.Bench;

/// <summary>
/// qimg bench against real qemu-img 7.2 bench: output lines, argument errors and written data with tiny request counts
/// (inconclusive when QEMU is not installed). Not a timing test: the measured seconds are masked.
/// </summary>
[TestFixture]
public partial class BenchCommandTests : QimgFixture
{
    [GeneratedRegex(@"^Run completed in \d+\.\d{3} seconds\.$", RegexOptions.Multiline)]
    private static partial Regex RunCompletedLine();

    private static string MaskSeconds(string s) => RunCompletedLine().Replace(s, "Run completed in X seconds.");

    private void MakeImage(string name = "t.qcow2", string size = "64M") => Sh("qemu-img", "create", "-q", "-f", "qcow2", name, size);

    /// <summary>Runs both tools with the same arguments (each on its own copy of t.qcow2 when writing) and compares.</summary>
    private void AssertSameBench(params string[] args)
    {
        File.Copy(PathOf("t.qcow2"), PathOf("q.qcow2"), overwrite: true);
        string[] qemuArgs = [.. args.Select(a => a.Replace("t.qcow2", "q.qcow2", StringComparison.Ordinal))];
        RunResult expected = QemuImg(["bench", .. qemuArgs]);
        RunResult actual = Qimg(["bench", .. args]);
        string what = "bench " + string.Join(' ', args);
        Assert.That(MaskSeconds(actual.Out), Is.EqualTo(MaskSeconds(expected.Out.Replace("q.qcow2", "t.qcow2", StringComparison.Ordinal))),
            $"stdout of {what}\n{actual}");
        Assert.That(actual.Err, Is.EqualTo(expected.Err.Replace("q.qcow2", "t.qcow2", StringComparison.Ordinal)), $"stderr of {what}\n{actual}");
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), $"exit code of {what}\n{actual}");
    }

    [TestCase("-c", "10")]
    [TestCase("-c", "10", "-w")]
    [TestCase("-c", "0")]
    [TestCase("-c", "0x10", "-d", "3")]
    [TestCase("-c", "010", "-w", "-q")]
    [TestCase("-c", "3", "-s", "1.5k", "-o", "1k")]
    [TestCase("-c", "3", "-S", "512", "-s", "1k")]
    [TestCase("-c", "3", "-S", "0", "-s", "1k")]
    [TestCase("-c", "5", "-s", "0")]
    [TestCase("-c", "100", "-w", "--flush-interval=64")]
    [TestCase("-c", "100", "-w", "--flush-interval=3", "-d", "2", "--no-drain")]
    [TestCase("-c", "10", "-w", "--flush-interval=0")]
    [TestCase("-c", "2", "-t", "none", "-n")]
    [TestCase("-c", "2", "-w", "-t", "writethrough", "-i", "threads")]
    [TestCase("-c", "2", "-w", "-t", "directsync", "-i", "native")]
    [TestCase("-c", "2", "-U", "-f", "qcow2")]
    [TestCase("-c", "2", "-w", "--pattern=0x5a")]
    [TestCase("-c", "3", "-o", "1G")]
    [TestCase("-c", "3", "-o", "1G", "-w")]
    public void Output_matches_qemu_img(params string[] args)
    {
        MakeImage();
        AssertSameBench([.. args, "t.qcow2"]);
    }

    [TestCase("-c", "abc")]
    [TestCase("-c", "-1")]
    [TestCase("-c", "2147483648")]
    [TestCase("-c", "5x")]
    [TestCase("-d", "abc")]
    [TestCase("-d", "2147483648")]
    [TestCase("-s", "abc")]
    [TestCase("-s", "-1")]
    [TestCase("-s", "3G")]
    [TestCase("-S", "abc")]
    [TestCase("-S", "99E")]
    [TestCase("-o", "abc")]
    [TestCase("-o", "8E")]
    [TestCase("--pattern=256")]
    [TestCase("--pattern=abc")]
    [TestCase("--flush-interval=3")]
    [TestCase("-w", "--flush-interval=3")]
    [TestCase("-w", "--flush-interval=-1")]
    [TestCase("-i", "bogus")]
    [TestCase("-n")]
    [TestCase("-n", "-i", "io_uring")]
    [TestCase("-t", "bogus", "-i", "bogus")]
    [TestCase("-i", "bogus", "-t", "bogus")]
    [TestCase("-f", "bogus")]
    [TestCase("-w", "-U")]
    [TestCase("-x")]
    [TestCase("-w", "--flush-interval=3", "-c", "bad")]
    public void Argument_errors_match_qemu_img(params string[] args)
    {
        MakeImage();
        AssertSameBench([.. args, "t.qcow2"]);
    }

    [Test]
    public void Operand_and_open_errors_match_qemu_img()
    {
        MakeImage();
        AssertSameBench();
        AssertSameBench("-c");
        AssertSameBench("t.qcow2", "t.qcow2");
        AssertSameBench("--flush-interval=3");
        AssertSameBench("-c", "1", "nonexist");
        AssertSameBench("-c", "1", "-n", "nonexist");
        AssertSameBench("--image-opts", "-c", "2", "t.qcow2");
        AssertSameBench("-f", "qcow2", "--image-opts", "-c", "2", "driver=qcow2,file.filename=t.qcow2");
        AssertSameBench("--image-opts", "-c", "2", "driver=qcow2,file.filename=t.qcow2,overlap-check=bad");
        AssertSameBench("--image-opts", "-w", "-U", "-c", "1", "driver=qcow2,file.filename=t.qcow2");
        AssertSameBench("--image-opts", "-w", "-c", "20", "driver=qcow2,file.filename=t.qcow2,overlap-check=all");
    }

    [Test]
    public void Writes_leave_the_same_guest_data_as_qemu_img()
    {
        MakeImage();
        string[] args = ["-w", "-c", "40", "-s", "3k", "-S", "5k", "-o", "1000", "--pattern=0xa5", "--flush-interval=64"];
        AssertSameBench([.. args, "t.qcow2"]);
        RunResult cmp = Qemu("qemu-img", "compare", "t.qcow2", "q.qcow2");
        Assert.That(cmp.ExitCode, Is.EqualTo(0), cmp.ToString());
        RunResult blank = Qemu("qemu-img", "create", "-q", "-f", "qcow2", "blank.qcow2", "64M");
        Assert.That(blank.ExitCode, Is.EqualTo(0), blank.ToString());
        Assert.That(Qemu("qemu-img", "compare", "t.qcow2", "blank.qcow2").ExitCode, Is.EqualTo(1), "bench -w wrote nothing");
    }

    [Test]
    public void Offsets_wrap_at_the_image_size()
    {
        MakeImage("small.qcow2", "64k");
        RunResult r = Qimg("bench", "-w", "-c", "40", "-s", "4k", "--pattern=7", "small.qcow2");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        RunResult read = Qemu("qemu-io", "-c", "read -P 7 0 64k", "small.qcow2");
        Assert.That(read.Out, Does.Contain("read 65536/65536 bytes at offset 0"), read.ToString());
    }

    [Test]
    public void Stats_line_names_the_overlap_structures_when_asked_for()
    {
        MakeImage();
        Environment.SetEnvironmentVariable(BenchCommand.StatsVariable, "1");
        try
        {
            RunResult list = Qimg("bench", "-w", "-c", "5", "--image-opts",
                "driver=qcow2,file.filename=t.qcow2,overlap-check=all,overlap-structures.total-size-limit=64k");
            RunResult scan = Qimg("bench", "-w", "-c", "5", "--image-opts", "driver=qcow2,file.filename=t.qcow2,overlap-structures.mode=scan");
            RunResult none = Qimg("bench", "-w", "-c", "5", "--image-opts", "driver=qcow2,file.filename=t.qcow2,overlap-check=none");
            Assert.That(list.Err, Does.Match(@"^bench-stats: open_seconds=\d+\.\d{6} structures=list list_bytes=[1-9]\d* list_limit=65536 peak_rss_kib=\d+\n$"), list.ToString());
            Assert.That(scan.Err, Does.Contain("structures=scan list_bytes=0 list_limit=unlimited"), scan.ToString());
            Assert.That(none.Err, Does.Contain("structures=none"), none.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(BenchCommand.StatsVariable, null);
        }
        RunResult quiet = Qimg("bench", "-w", "-c", "5", "t.qcow2");
        Assert.That(quiet.Err, Is.Empty, "no statistics without the variable");
    }
}
