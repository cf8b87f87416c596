using NUnit.Framework;
using Qcow2.Harness;
using ToolRun = Qcow2.Harness.ToolRun;

namespace Qcow2.UnitTests.Harness;

/// <summary>
/// Checks the stream model against real qemu-io (skipped when it is not installed): stdout is block-buffered
/// into a pipe and flushed at each stdin prompt, stderr is not, and the process runner keeps that order.
/// </summary>
[TestFixture]
[Category("qemu")]
public sealed class QemuOrderingTests
{
    /// <summary>The harness's runner under test, for qemu-io, with the tests' one tool timeout.</summary>
    private static readonly ProcessRunner QemuIo = new("qemu-io", [], ToolProcess.Timeout);

    private TempDir? _temp;
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        ToolProcess.Require("qemu-io", "qemu-img");
        _temp = new TempDir("iotests-qemu");
        _dir = _temp.Path;
        ToolProcess.Must("qemu-img", _dir, "create", "-f", "qcow2", "t.qcow2", "64M");
        ToolProcess.Must("qemu-io", _dir, "-c", "write 0 64k", "t.qcow2");

        // L1[0] := the refcount table's cluster, so the next write to cluster 0 overlaps metadata.
        using var f = File.OpenWrite(Path.Combine(_dir, "t.qcow2"));
        f.Position = 0x30000;
        f.Write([0x80, 0, 0, 0, 0, 0x01, 0, 0]);
    }

    [TearDown]
    public void TearDown() => _temp?.Dispose();

    private static string Text(ToolRun run) => string.Concat(run.Chunks.Select(c => c.Text));

    [Test]
    public void With_commands_on_the_command_line_stderr_overtakes_buffered_stdout()
    {
        var run = QemuIo.Run(["-c", "read 0 512", "-c", "write 0 512", "t.qcow2"], null, _dir, merge: true);
        var text = Filters.QemuIo(Text(run));
        Assert.That(text, Does.StartWith("qcow2: Marking image as corrupt").And.Contain("\nread 512/512 bytes at offset 0\n"));
    }

    [Test]
    public void With_commands_on_stdin_each_prompt_flushes_stdout()
    {
        var run = QemuIo.Run(["t.qcow2"], "read 0 512\nwrite 0 512\n", _dir, merge: true);
        var text = Text(run);
        Assert.That(text, Does.StartWith("qemu-io> read 512/512 bytes at offset 0\n"));
        Assert.That(text.IndexOf("qemu-io> qcow2: Marking image as corrupt", StringComparison.Ordinal), Is.GreaterThan(0));
    }

    [Test]
    public void Unmerged_runs_put_stderr_first_as_a_pipe_to_a_filter_would_show()
    {
        var run = QemuIo.Run(["-c", "read 0 512", "-c", "write 0 512", "t.qcow2"], null, _dir, merge: false);
        Assert.That(run.Chunks.Select(c => c.IsError), Is.EqualTo(new[] { true, false }));
        Assert.That(run.ExitCode, Is.EqualTo(1));
    }
}
