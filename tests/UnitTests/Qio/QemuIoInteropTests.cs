using NUnit.Framework;

namespace Qcow2.UnitTests.Qio;

/// <summary>Runs real qemu-io and qio on copies of the same raw image and compares the filtered output and the image bytes.</summary>
[TestFixture]
[Category("Interop")]
public class QemuIoInteropTests : QioFixture
{
    private static readonly string[][] Scripts =
    [
        ["-f", "raw", "-c", "write -P 0x41 0 512", "-c", "read -v 0 48", "-c", "write -z 512 512", "-c", "write -zu 1k 512",
            "-c", "write -c 0 512", "-c", "write -C 4k 512", "-c", "read -C 0 512", "r.img"],
        ["-f", "raw", "-c", "read -P 1 0 512", "-c", "read 0 2M", "-c", "nosuch", "-c", "read 0", "-c", "read -x 0 1",
            "-c", "read abc 1", "-c", "read 1.5k 1", "-c", "read 0x1k 1", "-c", "read 8E 1", "-c", "read 0 2147483648", "r.img"],
        // Raw discard is a hint: QEMU punches a hole, so discard only where the data is zero already.
        ["-f", "raw", "-c", "writev -P 5 0 512 1k", "-c", "readv -P 5 0 1536", "-c", "discard 64k 512", "-c", "length", "-c", "info",
            "-c", "map", "-c", "alloc 0 1M", "-c", "alloc 1020k 8k", "-c", "truncate 2M", "-c", "map", "r.img"],
        ["-f", "raw", "-c", "aio_write -P 9 0 4k", "-c", "aio_flush", "-c", "aio_read -P 9 0 4k", "-c", "aio_flush",
            "-c", "aio_read 0 4M", "-c", "aio_flush", "-c", "write -s src.txt 64k 100", "-c", "read -v 64k 32", "r.img"],
        // -s: writes go to a temporary overlay; the image itself must not change.
        ["-s", "-f", "raw", "-c", "write -P 7 0 512", "-c", "read -P 7 0 512", "-c", "map", "-c", "length", "r.img"],
        ["-s", "-r", "-f", "raw", "-c", "write 0 1", "-c", "read 0 1", "r.img"],
        ["-c", "open -s -o driver=raw r.img", "-c", "write -P 3 1k 512", "-c", "read -P 3 1k 512", "-c", "close", "-c", "open -o driver=raw r.img", "-c", "read -P 0 1k 512"],
        ["-c", "open -o driver=raw nonexist", "-c", "open -r -o driver=raw r.img", "-c", "write 0 1", "-c", "close",
            "-c", "open -o driver=raw,file.filename=r.img", "-c", "length", "-c", "help read"],
    ];

    private static string Normalize(string text) => FilterTiming(text.Replace("qemu-io", "qio"));

    [TestCaseSource(nameof(Scripts))]
    public void Qio_prints_what_qemu_io_prints(string[] args)
    {
        ToolProcess.Require("qemu-io");
        File.WriteAllText(PathOf("src.txt"), "qio interop source pattern");
        string real = PathOf("real");
        string ours = PathOf("ours");
        foreach (var d in new[] { real, ours })
        {
            Directory.CreateDirectory(d);
            File.Copy(PathOf("r.img"), Path.Combine(d, "r.img"));
            File.Copy(PathOf("src.txt"), Path.Combine(d, "src.txt"));
        }

        var (realCode, realOut, realErr) = ToolProcess.Run("qemu-io", real, args);
        var (rc, o, e) = InProcess.Qio(ours, args);

        string context = $"args: {string.Join(" | ", args)}\n--- qemu-io stdout\n{realOut}--- qemu-io stderr\n{realErr}--- qio stdout\n{o}--- qio stderr\n{e}";
        Assert.That(rc, Is.EqualTo(realCode), context);
        Assert.That(Normalize(o.ToString()), Is.EqualTo(Normalize(realOut)), context);
        Assert.That(Normalize(e.ToString()), Is.EqualTo(Normalize(realErr)), context);
        FileBytes.AssertSame(Path.Combine(ours, "r.img"), Path.Combine(real, "r.img"), context);
    }
}
