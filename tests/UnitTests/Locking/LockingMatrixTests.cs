using System.Text;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Locking;

/// <summary>
/// The locking matrix: an image held by qemu-io or by our qio (separate processes, read-write, read-only, or
/// read-only with -U), and each command run by qemu-img / qemu-io and by qimg / qio while it is held. Every cell must
/// give the same exit status and the same error text, whichever tool holds the image and whichever runs the
/// command. The table printed on success is the one docs/reliability.md records.
/// </summary>
[TestFixture]
public sealed class LockingMatrixTests : InteropFixture
{
    /// <summary>A command of the matrix: its label and its qemu-img / qemu-io arguments (our tools take the same).</summary>
    private sealed record Command(string Label, string Tool, string[] Args);

    private static readonly Command[] Commands =
    [
        new("info", "qemu-img", ["info", "t.qcow2"]),
        new("info -U", "qemu-img", ["info", "-U", "t.qcow2"]),
        new("check", "qemu-img", ["check", "t.qcow2"]),
        new("check -U", "qemu-img", ["check", "-U", "t.qcow2"]),
        new("map", "qemu-img", ["map", "t.qcow2"]),
        new("map -U", "qemu-img", ["map", "-U", "t.qcow2"]),
        new("snapshot -l", "qemu-img", ["snapshot", "-l", "t.qcow2"]),
        new("snapshot -l -U", "qemu-img", ["snapshot", "-l", "-U", "t.qcow2"]),
        new("snapshot -c", "qemu-img", ["snapshot", "-c", "snap", "t.qcow2"]),
        new("convert (source)", "qemu-img", ["convert", "-O", "raw", "t.qcow2", "out.raw"]),
        new("convert -U (source)", "qemu-img", ["convert", "-U", "-O", "raw", "t.qcow2", "out.raw"]),
        new("qio write", "qemu-io", ["-c", "write -P 0x5a 64k 4k", "t.qcow2"]),
        new("qio -r read", "qemu-io", ["-r", "-c", "read 0 4k", "t.qcow2"]),
        new("qio -r -U read", "qemu-io", ["-r", "-U", "-c", "read 0 4k", "t.qcow2"]),
        new("qio write, file.locking=off", "qemu-io",
            ["-c", "write -P 0x5b 128k 4k", "--image-opts", "driver=qcow2,file.filename=t.qcow2,file.locking=off"]),
        new("create (overwrite)", "qemu-img", ["create", "-q", "-f", "qcow2", "t.qcow2", "1M"]),
    ];

    /// <summary>How the holder opens the image: its qemu-io / qio arguments before the file name.</summary>
    private static readonly Dictionary<string, string[]> Modes = new()
    {
        ["read-write"] = [],
        ["read-only"] = ["-r"],
        ["read-only -U"] = ["-r", "-U"],
    };

    /// <summary>One cell's outcome: exit status and the error text with our program names.</summary>
    private sealed record Outcome(int ExitCode, string Err)
    {
        public override string ToString() => $"exit {ExitCode}: {Err.Replace("\n", " / ", StringComparison.Ordinal).TrimEnd(' ', '/')}";
    }

    /// <summary>Holder (qemu-io, qio) x second tool (QEMU's, ours) x command, for one way of holding the image.</summary>
    [TestCase("read-write")]
    [TestCase("read-only")]
    [TestCase("read-only -U")]
    public void Every_cell_gives_qemus_status_and_message(string mode)
    {
        var results = new Dictionary<(string Holder, string Second, string Command), Outcome>();
        foreach (string holder in new[] { "qemu-io", "qio" })
        {
            Must("qemu-img", "create", "-q", "-f", "qcow2", "t.qcow2", "1M");
            Must("qemu-io", "-c", "write -P 0x11 0 64k", "t.qcow2");
            string tool = holder == "qio" ? ImageHolder.OurQio : "qemu-io";
            using var held = ImageHolder.Start(tool, Dir, [.. Modes[mode], "t.qcow2"]);
            foreach (Command c in Commands)
            {
                results[(holder, "QEMU", c.Label)] = RunQemu(c);
                results[(holder, "ours", c.Label)] = RunOurs(c);
            }
        }
        var failures = new StringBuilder();
        var table = new StringBuilder($"holder {mode}: command | result (all four holder x second combinations)\n");
        foreach (Command c in Commands)
        {
            Outcome reference = results[("qemu-io", "QEMU", c.Label)];
            table.Append($"{c.Label} | {reference}\n");
            foreach (var ((holder, second, label), outcome) in results.Where(r => r.Key.Command == c.Label))
            {
                if (outcome != reference)
                {
                    failures.Append($"{label}, held by {holder}, run by {second}: {outcome}; qemu-io holder + QEMU's tool: {reference}\n");
                }
            }
        }
        TestContext.Out.Write(table.ToString());
        Assert.That(failures.ToString(), Is.Empty, table.ToString());
    }

    /// <summary>The matrix must be able to fail: a held image refuses a writer in every mode but -U's.</summary>
    [Test]
    public void A_writer_is_refused_while_qemu_io_holds_the_image_read_only()
    {
        Must("qemu-img", "create", "-q", "-f", "qcow2", "t.qcow2", "1M");
        using var held = ImageHolder.Start("qemu-io", Dir, "-r", "t.qcow2");
        Outcome ours = RunOurs(Commands.Single(c => c.Label == "qio write"));
        Assert.That(ours, Is.EqualTo(new Outcome(1,
            "qio: can't open device t.qcow2: Failed to get \"write\" lock\nIs another process using the image [t.qcow2]?\n")));
    }

    private Outcome RunQemu(Command c)
    {
        ToolRun r = Qemu(c.Tool, null, c.Args);
        return new Outcome(r.ExitCode, Normalize(r.Err));
    }

    private Outcome RunOurs(Command c)
    {
        ToolRun r = c.Tool == "qemu-img" ? Qimg(null, c.Args) : Qio(null, c.Args);
        return new Outcome(r.ExitCode, r.Err);
    }
}
