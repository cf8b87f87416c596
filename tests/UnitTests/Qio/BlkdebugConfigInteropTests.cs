using NUnit.Framework;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Qio;

/// <summary>
/// blkdebug config files (issue 13 item 1) against real qemu-io: the parser's groups, keys, quoting, comments and type
/// checks with QEMU's messages, rules checked inject-error first, and the state machine of set-state rules. Each row is
/// a config (printf escapes) used as blkdebug:CONFIG:IMAGE for a write and a read of a fresh image.
/// </summary>
[TestFixture]
[ParallelInterop]
public class BlkdebugConfigInteropTests : QioFixture
{
    [TestCase("[inject-error]\\ngarbage\\n")]
    [TestCase("[inject-error]\\nevent=read_aio\\n")]
    [TestCase("[inject-error\\n")]
    [TestCase("  [inject-error]\\nevent = \"read_aio\"\\n")]
    [TestCase("[inject-error]\\n  # indented comment\\nevent = \"read_aio\"\\n")]
    [TestCase("[inject-error \"id1\"]\\nevent = \"read_aio\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nerrno = \"abc\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nonce = \"x\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nstate = \"x\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\niotype = \"foo\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\niotype = \"write\"\\n")]
    [TestCase("[set-state]\\nevent = \"read_aio\"\\n")]
    [TestCase("[set-state]\\nevent = \"read_aio\"\\nnew_state = \"x\"\\n")]
    [TestCase("[set-state]\\nnew_state = \"2\"\\n")]
    [TestCase("[set-state]\\nevent = \"write_aio\"\\nnew_state = \"2\"\\n[inject-error]\\nevent = \"read_aio\"\\nstate = \"1\"\\n")]
    [TestCase("[set-state]\\nevent = \"write_aio\"\\nnew_state = \"2\"\\n[inject-error]\\nevent = \"read_aio\"\\nstate = \"2\"\\n")]
    [TestCase("[set-state]\\nevent = \"write_aio\"\\nnew_state = \"2\"\\n[set-state]\\nevent = \"write_aio\"\\nnew_state = \"3\"\\n[inject-error]\\nevent = \"read_aio\"\\nstate = \"3\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\n[set-state]\\nevent = \"xx\"\\nnew_state = \"2\"\\n")]
    [TestCase("[set-state]\\nevent = \"xx\"\\nnew_state = \"2\"\\n[inject-error]\\nevent = \"yy\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nevent = \"write_aio\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nerrno = \"-5\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nerrno = \"0\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nerrno = \"28\"\\nonce = \"on\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nimmediately = \"on\"\\n")]
    [TestCase("\\n\\n[inject-error]\\r\\nevent = \"read_aio\"\\r\\n")]
    [TestCase("[inject-error]\\nevent = read_aio\\n")]
    [TestCase("[inject-error]\\nevent \"read_aio\"\\n")]
    [TestCase("[inject-error] x\\nevent = \"read_aio\"\\n")]
    [TestCase("[foo \"x\"]\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nstate = \"2\"\\n")]
    [TestCase("\\t[inject-error]\\n")]
    [TestCase("[inject-error]\\n\\tevent = \"read_aio\"\\n")]
    [TestCase("[]\\n")]
    [TestCase("[inject-error]\\nevent = \"\"\\n")]
    [TestCase("garbage\\n")]
    [TestCase("[no-such-section]\\nevent = \"read_aio\"\\n")]
    [TestCase("[inject-error]\\nevent = \"read_aio\"\\nfoo = \"1\"\\n")]
    [TestCase("[inject-error]\\nerrno = \"5\"\\n")]
    [TestCase("# comment only\\n")]
    public void Config_is_read_as_in_qemu_io(string config)
    {
        string text = System.Text.RegularExpressions.Regex.Unescape(config);
        string[] args = ["-c", "write 0 4k", "-c", "read 0 4k", "-c", "write 64k 4k", "-c", "read 64k 4k", "blkdebug:bd.conf:a.qcow2"];
        string Run(Func<ToolRun> run)
        {
            File.Delete(PathOf("a.qcow2"));
            File.WriteAllText(PathOf("bd.conf"), text);
            ToolProcess.Run("qemu-img", Dir, "create", "-f", "qcow2", "a.qcow2", "1M");
            ToolRun r = run();
            return FilterTiming(r.Out) + "--- stderr\n" + r.Err + $"--- exit {r.ExitCode}\n";
        }
        string real = Run(() => ToolProcess.Run("qemu-io", Dir, args));
        string ours = Run(() => InProcess.Qio(Dir, args));
        Assert.That(ours, Is.EqualTo(real.Replace("qemu-io", "qio")), config);
    }
}
