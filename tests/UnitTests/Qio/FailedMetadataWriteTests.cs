using NUnit.Framework;
using Qcow2.Cli;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Qio;

/// <summary>
/// A metadata write that fails (blkdebug error injection) must leave memory equal to disk: writes acknowledged
/// after the failure must read back after reopening, and the image must stay consistent (issue 10, item 2).
/// </summary>
[TestFixture]
public sealed class FailedMetadataWriteTests : QioFixture
{
    private const int Writes = 10;

    private void Create(string name, params string[] extra)
    {
        var args = new List<string> { "create", "-q", "-f", "qcow2" };
        args.AddRange(extra);
        args.AddRange([PathOf(name), "64M"]);
        var o = new StringWriter();
        int rc = QimgTool.Run(args.ToArray(), new ToolContext(TextReader.Null, o, o, Dir));
        Assert.That(rc, Is.Zero, o.ToString());
    }

    private void WriteConfig(string eventName, int errno = 5)
    {
        File.WriteAllText(PathOf("blkdebug.conf"), $"[inject-error]\nevent = \"{eventName}\"\nerrno = \"{errno}\"\nonce = \"on\"\n");
    }

    /// <summary>Ten 64 KiB writes with patterns 1..10 through blkdebug; the first fails. Returns the acknowledged patterns.</summary>
    private List<int> WriteThroughFailure()
    {
        var args = new List<string> { "-c", "open -o file.driver=blkdebug,file.config=blkdebug.conf t.qcow2" };
        for (int i = 0; i < Writes; i++)
        {
            args.AddRange(["-c", $"write -P {i + 1} {i * 65536} 64k"]);
        }
        args.AddRange(["-c", "flush"]);
        var r = Qio(args.ToArray());
        Assert.That(r.Out, Does.StartWith("write failed: Input/output error\n"), r.ToString());
        var acked = new List<int>();
        for (int i = 0; i < Writes; i++)
        {
            if (r.Out.Contains($"wrote 65536/65536 bytes at offset {i * 65536}\n", StringComparison.Ordinal))
            {
                acked.Add(i);
            }
        }
        return acked;
    }

    private List<int> Lost(List<int> acked) =>
        acked.Where(i => Qio("-c", $"read -P {i + 1} {i * 65536} 64k", "t.qcow2").Out.Contains("Pattern verification failed", StringComparison.Ordinal)).ToList();

    private string Check()
    {
        var o = new StringWriter();
        QimgTool.Run(["check", PathOf("t.qcow2")], new ToolContext(TextReader.Null, o, o, Dir));
        return o.ToString();
    }

    [Test]
    public void Failed_l1_update_loses_no_acknowledged_write()
    {
        Create("t.qcow2");
        WriteConfig("l1_update");
        var acked = WriteThroughFailure();
        Assert.That(acked, Has.Count.EqualTo(Writes - 1));
        Assert.That(Lost(acked), Is.Empty, "acknowledged writes lost after reopening");
        Assert.That(Check(), Does.StartWith("No errors were found on the image."));
    }

    [Test]
    public void Failed_l1_update_with_a_snapshot_loses_no_acknowledged_write_and_keeps_the_image_consistent()
    {
        Create("t.qcow2");
        var r = Qio("-c", $"write -P 0xaa 0 {Writes * 64}k", "t.qcow2");
        Assert.That(r.Out, Does.Contain("wrote"), r.ToString());
        var o = new StringWriter();
        Assert.That(QimgTool.Run(["snapshot", "-c", "s1", PathOf("t.qcow2")], new ToolContext(TextReader.Null, o, o, Dir)), Is.Zero, o.ToString());
        WriteConfig("l1_update");
        var acked = WriteThroughFailure();
        Assert.That(acked, Has.Count.EqualTo(Writes - 1));
        Assert.That(Lost(acked), Is.Empty, "acknowledged writes lost after reopening");
        Assert.That(Check(), Does.StartWith("No errors were found on the image."));
    }

    [TestCase("l2_alloc_write")]
    [TestCase("refblock_alloc_hookup")]
    [TestCase("refblock_alloc_write")]
    [TestCase("refblock_update_part")]
    [TestCase("l2_update")]
    [TestCase("write_aio")]
    public void Failed_write_at_event_loses_no_acknowledged_write(string eventName)
    {
        Create("t.qcow2", "-o", "cluster_size=512");
        WriteConfig(eventName, 28);
        var args = new List<string> { "-c", "open -o file.driver=blkdebug,file.config=blkdebug.conf t.qcow2" };
        for (int i = 0; i < Writes; i++)
        {
            args.AddRange(["-c", $"write -P {i + 1} {i * 65536} 64k"]);
        }
        args.AddRange(["-c", "flush"]);
        var r = Qio(args.ToArray());
        var acked = Enumerable.Range(0, Writes)
            .Where(i => r.Out.Contains($"wrote 65536/65536 bytes at offset {i * 65536}\n", StringComparison.Ordinal)).ToList();
        Assert.That(r.Out, Does.Contain("No space left on device"), r.ToString());
        Assert.That(Lost(acked), Is.Empty, "acknowledged writes lost after reopening");
        Assert.That(Check(), Does.Not.Contain("ERROR"));
    }
}
