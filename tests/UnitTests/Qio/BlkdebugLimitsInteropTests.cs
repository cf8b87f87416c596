using NUnit.Framework;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Qio;

/// <summary>
/// blkdebug's request limits (align, max-transfer, opt-write-zero, max-write-zero, opt-discard, max-discard) against
/// real qemu-io: the open-time checks and their messages, and what the shaped requests leave in the image (the
/// qemu-img map of the result), with blkdebug over the qcow2 node (driver=blkdebug,image.driver=qcow2, as iotest 177)
/// or under it (json: with file.driver=blkdebug, where rules see the read-modify-write events).
/// </summary>
[TestFixture]
[ParallelInterop]
public class BlkdebugLimitsInteropTests : QioFixture
{
    private const string Over = "driver=blkdebug,image.driver=qcow2";

    [TestCase("align=3")]
    [TestCase("align=0")]
    [TestCase("align=2G")]
    [TestCase("align=4,max-transfer=6")]
    [TestCase("align=4,max-transfer=2G")]
    [TestCase("align=4,opt-write-zero=10")]
    [TestCase("align=4,opt-write-zero=8k,max-write-zero=4k")]
    [TestCase("align=4,max-write-zero=12k")]
    [TestCase("align=4,opt-discard=7")]
    [TestCase("align=4,opt-discard=8k,max-discard=12k")]
    [TestCase("align=4,max-discard=9")]
    [TestCase("align=x")]
    [TestCase("max-transfer=-1")]
    [TestCase("align=8M")]
    [TestCase("align=1k,foo=1")]
    public void Open_checks_the_limits_as_qemu_io(string limits)
    {
        Compare("a.qcow2", "open -o " + Over + "," + limits + " blkdebug::a.qcow2;read 0 512");
        Compare("a.qcow2", "open -r -o " + Over + "," + limits + " blkdebug::a.qcow2;read 0 512");
    }

    [TestCase("align=4k,max-transfer=64k", "write -P 33 1000 128k;read -P 33 1000 128k;read -P 0x11 0 1000")]
    [TestCase("align=512,max-transfer=64k,opt-write-zero=1M", "write -z 1000000 1500000")]
    [TestCase("opt-write-zero=128k", "write -z 64k 256k;write -z 1000 3000;write -z 3M 1M")]
    [TestCase("opt-write-zero=128k,max-write-zero=256k,max-transfer=64k", "write -z 1000 3M")]
    [TestCase("align=512,opt-write-zero=192k,max-write-zero=192k", "write -z 100k 2M")]
    [TestCase("opt-discard=128k,max-discard=256k,align=4k", "discard 1000 3M")]
    [TestCase("align=512,opt-discard=192k,max-discard=192k", "discard 80001 3M")]
    [TestCase("align=4k", "write -P 1 1 1;read -P 0x11 0 1;write -z 4095 2;write -c 0 64k;read -v 4090 10")]
    [TestCase("align=512", "write -z -u 0 128k;write -z 128k 64k;write -z -u 200k 8k;write -z -u 1000 3000")]
    public void Shaped_requests_leave_the_image_as_qemu_io(string limits, string commands) =>
        Compare("a.qcow2", "open -o " + Over + "," + limits + " blkdebug::a.qcow2;" + commands);

    [TestCase("pwritev_rmw_head", "off")]
    [TestCase("pwritev_rmw_tail", "off")]
    [TestCase("pwritev_rmw_after_head", "off")]
    [TestCase("pwritev_rmw_after_tail", "on")]
    [TestCase("pwritev_zero", "off")]
    [TestCase("l1_update", "on")]
    public void Rules_see_the_events_of_the_padding_under_the_image(string ev, string once)
    {
        string json = "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"blkdebug\",\"align\":\"4k\",\"max-transfer\":\"128k\","
            + $"\"inject-error\":[{{\"event\":\"{ev}\",\"errno\":\"5\",\"once\":\"{once}\"}}],"
            + "\"image\":{\"driver\":\"file\",\"filename\":\"a.qcow2\"}}}";
        Compare("a.qcow2", "open " + json + ";write 2M 64k;write 1M 100k;write -z 3M 1000;discard 1M 64k;write 4000 1000;read 2M 16");
    }

    /// <summary>Runs the commands on a fresh 4M image (0x11 in its first 2M) with qemu-io and with qio, and compares
    /// output, exit status and the map of the image left behind.</summary>
    private void Compare(string image, string commands)
    {
        string[] args = CommandArgs(commands).ToArray();
        string Run(Func<ToolRun> run)
        {
            File.Delete(PathOf(image));
            ToolProcess.Run("qemu-img", Dir, "create", "-f", "qcow2", image, "4M");
            ToolProcess.Run("qemu-io", Dir, "-c", "write -P 0x11 0 2M", image);
            ToolRun r = run();
            ToolRun map = ToolProcess.Run("qemu-img", Dir, "map", "--output=json", image);
            return FilterTiming(r.Out) + "--- stderr\n" + r.Err + $"--- exit {r.ExitCode}\n" + map.Out;
        }
        string real = Run(() => ToolProcess.Run("qemu-io", Dir, args));
        string ours = Run(() => Qio(args));
        Assert.That(ours, Is.EqualTo(real.Replace("qemu-io", "qio")), commands);
    }
}
