using Qcow2.Tools.Qio;
using Qcow2.UnitTests.Qimg;

namespace Qcow2.UnitTests.Common;

/// <summary>
/// The one getopt (tools/Common/GetOpt) against glibc as qemu-img and qemu-io 7.2 use it: for every qemu-img command,
/// bad options placed after operands, inside option clusters, at the end, and long options that are unknown,
/// abbreviated or given a value. glibc permutes argv as it scans, so the option qemu-img names (argv[optind - 1])
/// is sometimes an operand: `create -f qcow2 a.qcow2 -5M` names 'a.qcow2'. No file exists, so every run stops at its
/// command line (or at opening a missing file); stderr and the exit code must be qemu-img's.
/// </summary>
[TestFixture]
public sealed class GetOptVsQemuTests : QimgFixture
{
    private static readonly string[] Commands =
    [
        "amend", "bench", "bitmap", "check", "commit", "compare", "convert", "create", "dd", "info", "map", "measure",
        "snapshot", "rebase", "resize",
    ];

    /// <summary>Argument shapes after the command name.</summary>
    private static readonly string[][] Shapes =
    [
        ["-f", "qcow2", "a.img", "-5M"],
        ["a.img", "-5M"],
        ["a.img", "b.img", "-Z"],
        ["a.img", "-qZ", "b.img"],
        ["a.img", "-f"],
        ["a.img", "b.img", "--nonsense=1"],
        ["a.img", "--nonsense", "b.img"],
        ["a.img", "--help=1"],
        ["a.img", "--output"],
        ["a.img", "--i", "b.img"],
        ["a.img", "-:", "b.img"],
        ["-Z", "--", "a.img"],
        ["--", "a.img", "-Z"],
        ["a.img", "-", "-Z"],
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        from c in Commands
        from s in Shapes
        select new TestCaseData(c, s).SetArgDisplayNames(c + " " + string.Join(' ', s));

    [TestCaseSource(nameof(Cases))]
    public void Command_line_errors_are_qemu_imgs(string command, string[] shape)
    {
        string[] args = [command, .. shape];
        RunResult qemu = QemuImg(args);
        RunResult ours = Qimg(args);
        string why = $"{string.Join(' ', args)}\nqemu-img: {qemu}\nqimg: {ours}";
        Assert.That(ours.Err, Is.EqualTo(qemu.Err), why);
        Assert.That(ours.ExitCode, Is.EqualTo(qemu.ExitCode), why);
    }

    [TestCase("-Z", "info")]
    [TestCase("info", "-T")]
    [TestCase("--vers")]
    [TestCase("--version=1")]
    [TestCase("--tr")]
    [TestCase("-hZ")]
    public void Global_options_are_qemu_imgs(params string[] args)
    {
        RunResult qemu = QemuImg(args);
        RunResult ours = Qimg(args);
        string why = $"{string.Join(' ', args)}\nqemu-img: {qemu}\nqimg: {ours}";
        Assert.That(ours.Err, Is.EqualTo(qemu.Err), why);
        Assert.That(ours.ExitCode, Is.EqualTo(qemu.ExitCode), why);
    }

    [TestCase("read 0 -x 1")]
    [TestCase("read 0 1 -P")]
    [TestCase("read -qZv 0 1")]
    [TestCase("write 0 512 -P 1 -Z")]
    [TestCase("aio_read 0 -Z 512")]
    [TestCase("discard -: 0 512")]
    [TestCase("readv 0 --foo 512")]
    [TestCase("open -Z x")]
    public void Qemu_io_command_errors_are_qemu_ios(string command)
    {
        File.WriteAllBytes(PathOf("r.raw"), new byte[1 << 20]);
        RunResult qemu = Qemu("qemu-io", "-f", "raw", "-c", command, "r.raw");
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int rc = QioTool.Run(["-f", "raw", "-c", command, "r.raw"], new ToolContext(TextReader.Null, o, e, Dir));
        string why = $"{command}\nqemu-io: {qemu}\nqio: exit {rc}\n{o}{e}";
        Assert.That(e.ToString(), Is.EqualTo(qemu.Err), why);
        Assert.That(o.ToString(), Is.EqualTo(qemu.Out), why);
    }

    [TestCase("--cmdd", "x")]
    [TestCase("--c")]
    [TestCase("-c")]
    [TestCase("--read-only=1", "x")]
    [TestCase("x", "-Z")]
    public void Qemu_io_global_options_are_qemu_ios(params string[] args)
    {
        RunResult qemu = Qemu("qemu-io", args);
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int rc = QioTool.Run(args, new ToolContext(TextReader.Null, o, e, Dir));
        string why = $"{string.Join(' ', args)}\nqemu-io: {qemu}\nqio: exit {rc}\n{o}{e}";
        Assert.That(e.ToString().Replace("qio", "qemu-io", StringComparison.Ordinal), Is.EqualTo(qemu.Err), why);
        Assert.That(rc, Is.EqualTo(qemu.ExitCode), why);
    }
}
