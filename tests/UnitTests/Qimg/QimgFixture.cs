using System.Diagnostics;
using NUnit.Framework;
using Qcow2.Cli;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Qimg;

/// <summary>Shared plumbing for qimg tests: a temporary folder, in-process qimg runs and real qemu-img/qemu-io runs.</summary>
public abstract class QimgFixture
{
    /// <summary>The temporary folder of the current test (the working directory of every run).</summary>
    protected string Dir { get; private set; } = "";

    /// <summary>Creates the temporary folder.</summary>
    [SetUp]
    public void CreateDir()
    {
        Dir = Path.Combine(Path.GetTempPath(), "qimg-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    /// <summary>Removes the temporary folder.</summary>
    [TearDown]
    public void RemoveDir()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The result of one tool run.</summary>
    protected sealed record RunResult(int ExitCode, string Out, string Err)
    {
        /// <summary>All of it, for failure messages.</summary>
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Err}";
    }

    /// <summary>Runs qimg in-process with the test folder as working directory.</summary>
    protected RunResult Qimg(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        int code = QimgTool.Run(args, new ToolContext(TextReader.Null, output, error, Dir));
        return new RunResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs a real QEMU tool in the test folder; the test is inconclusive when the tool is not installed.</summary>
    protected RunResult Qemu(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Dir,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            QemuRequired.Missing(tool);
            throw;
        }
        using (p)
        {
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(60_000))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"{tool} {string.Join(' ', args)} timed out");
            }
            return new RunResult(p.ExitCode, stdout.Result, stderr.Result);
        }
    }

    /// <summary>Runs qemu-img and maps its name to qimg's in the output, so both can be compared.</summary>
    protected RunResult QemuImg(params string[] args)
    {
        RunResult r = Qemu("qemu-img", args);
        return new RunResult(r.ExitCode, r.Out.Replace("qemu-img", "qimg", StringComparison.Ordinal), r.Err.Replace("qemu-img", "qimg", StringComparison.Ordinal));
    }

    /// <summary>Full path of a file in the test folder.</summary>
    protected string PathOf(string name) => Path.Combine(Dir, name);
}
