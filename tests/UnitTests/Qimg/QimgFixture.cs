using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>Shared plumbing for qimg tests: a temporary folder, in-process qimg runs and real qemu-img/qemu-io runs.</summary>
public abstract class QimgFixture : FolderFixture
{
    /// <summary>The result of one tool run.</summary>
    protected sealed record RunResult(int ExitCode, string Out, string Err)
    {
        /// <summary>All of it, for failure messages.</summary>
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Err}";
    }

    /// <summary>Runs qimg in-process with the test folder as working directory.</summary>
    protected RunResult Qimg(params string[] args)
    {
        var r = InProcess.Qimg(Dir, args);
        return new RunResult(r.ExitCode, r.Out, r.Err);
    }

    /// <summary>Runs a real QEMU tool in the test folder; the test is inconclusive when the tool is not installed.</summary>
    protected RunResult Qemu(string tool, params string[] args)
    {
        var r = ToolProcess.Run(tool, Dir, args);
        return new RunResult(r.ExitCode, r.Out, r.Err);
    }

    /// <summary>Runs a QEMU tool in the test folder and requires success.</summary>
    protected void Sh(string tool, params string[] args)
    {
        RunResult r = Qemu(tool, args);
        Assert.That(r.ExitCode, Is.EqualTo(0), $"{tool} {string.Join(' ', args)}\n{r}");
    }

    /// <summary>One test case per image argument list: the command, its options, then the image arguments.</summary>
    protected static IEnumerable<TestCaseData> CommandCases(string[][] images, string command, params string[] options) =>
        images.Select(image => new TestCaseData((object)(string[])[command, .. options, .. image]));

    /// <summary>How a failure names a qimg command line (fixtures add their seed).</summary>
    protected virtual string Describe(string[] args) => "qimg " + string.Join(' ', args);

    /// <summary>Runs qemu-img and qimg with the same arguments and requires the same streams and exit code; returns qimg's run.</summary>
    protected RunResult AssertSame(params string[] args)
    {
        RunResult expected = QemuImg(args);
        RunResult actual = Qimg(args);
        string what = Describe(args);
        Assert.That(actual.Out, Is.EqualTo(expected.Out), $"stdout of {what}");
        Assert.That(actual.Err, Is.EqualTo(expected.Err), $"stderr of {what}");
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), $"exit code of {what}");
        return actual;
    }

    /// <summary>Runs qemu-img and maps its name to qimg's in the output, so both can be compared.</summary>
    protected RunResult QemuImg(params string[] args)
    {
        RunResult r = Qemu("qemu-img", args);
        return new RunResult(r.ExitCode, r.Out.Replace("qemu-img", "qimg", StringComparison.Ordinal), r.Err.Replace("qemu-img", "qimg", StringComparison.Ordinal));
    }

    /// <summary>
    /// Runs qemu-img convert and qimg convert with the same arguments into out.q and out.m and requires the same
    /// stdout, stderr (with the output names made alike) and exit code.
    /// </summary>
    protected void ConvertBoth(string[] args)
    {
        RunResult expected = QemuImg(["convert", .. args, "out.q"]);
        RunResult actual = Qimg(["convert", .. args, "out.m"]);
        string what = Describe(["convert", .. args]);
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), $"exit code of {what}\nqemu-img: {expected}\nqimg: {actual}");
        Assert.That(actual.Out, Is.EqualTo(expected.Out), $"stdout of {what}");
        Assert.That(actual.Err.Replace("out.m", "OUT", StringComparison.Ordinal),
            Is.EqualTo(expected.Err.Replace("out.q", "OUT", StringComparison.Ordinal)), $"stderr of {what}");
    }
}
