using NUnit.Framework;
using Qcow2.Tools.Mkimage;

namespace Qcow2.UnitTests.Mkimage;

/// <summary>Shared plumbing for mkimage tests: a temporary folder, real qemu-img/qemu-io runs and in-process mkimage runs.</summary>
public abstract class MkimageFixture : FolderFixture
{
    /// <summary>The result of one mkimage run.</summary>
    protected sealed record RunResult(int ExitCode, string Out, string Err);

    /// <summary>Runs mkimage in-process with the test folder as working directory.</summary>
    protected RunResult Mk(params string[] args) => MkWithInput("", args);

    /// <summary>Runs mkimage in-process with the given standard input.</summary>
    protected RunResult MkWithInput(string input, params string[] args)
    {
        var r = InProcess.Run(MkimageTool.Run, Dir, args, input);
        return new RunResult(r.ExitCode, r.Out, r.Err);
    }

    /// <summary>Runs mkimage and asserts success with nothing on stderr; returns stdout.</summary>
    protected string MkOk(params string[] args)
    {
        var r = Mk(args);
        Assert.That(r.Err, Is.Empty, "stderr of mkimage " + string.Join(' ', args));
        Assert.That(r.ExitCode, Is.Zero, "exit code of mkimage " + string.Join(' ', args));
        return r.Out;
    }

    /// <summary>Asserts that mkimage ends with this exit code and stdout, and nothing on stderr.</summary>
    protected void MkPrints(int exitCode, string expectedOut, params string[] args)
    {
        var r = Mk(args);
        Assert.That((r.ExitCode, r.Out, r.Err), Is.EqualTo((exitCode, expectedOut, "")));
    }

    /// <summary>Asserts that mkimage fails with stderr starting with this text and leaves the file "img" as it was.</summary>
    protected void MkFailsLeavingImgUnchanged(string errStart, params string[] args)
    {
        var before = Bytes("img");
        var r = Mk(args);
        Assert.Multiple(() =>
        {
            Assert.That(r.ExitCode, Is.EqualTo(1));
            Assert.That(r.Err, Does.StartWith(errStart));
            Assert.That(Bytes("img"), Is.EqualTo(before));
        });
    }

    /// <summary>Asserts that mkimage fails with exactly this stderr line and no stdout.</summary>
    protected void MkFails(string expectedErr, params string[] args)
    {
        var r = Mk(args);
        Assert.Multiple(() =>
        {
            Assert.That(r.ExitCode, Is.EqualTo(1), "exit code");
            Assert.That(r.Out, Is.Empty, "stdout");
            Assert.That(r.Err, Is.EqualTo(expectedErr + "\n"), "stderr");
        });
    }

    /// <summary>Runs a real QEMU tool in the test folder (skipping the test when it is not installed); returns stdout.</summary>
    protected string Qemu(string tool, params string[] args)
    {
        var r = ToolProcess.Run(tool, Dir, args);
        return r.Out + r.Err + (r.ExitCode == 0 ? "" : $"[exit {r.ExitCode}]");
    }

    /// <summary>qemu-img create -f qcow2 with options; asserts it succeeded.</summary>
    protected string Create(string name, string size, params string[] options)
    {
        var args = new List<string> { "create", "-q", "-f", "qcow2" };
        if (options.Length > 0)
        {
            args.Add("-o");
            args.Add(string.Join(',', options));
        }
        args.Add(name);
        args.Add(size);
        Assert.That(Qemu("qemu-img", args.ToArray()), Is.Empty, "qemu-img create");
        return Path.Combine(Dir, name);
    }

    /// <summary>The bytes of a file in the test folder.</summary>
    protected byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Dir, name));
}
