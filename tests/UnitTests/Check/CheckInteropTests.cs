using System.Text.RegularExpressions;
using Qcow2.Block;
using Qcow2.Cli;
using Qcow2.Tools.Qimg;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Check;

/// <summary>
/// qimg check against qemu-img check on identical copies of damaged images: stdout, stderr (program name mapped),
/// exit code, and the image bytes afterwards must all be the same.
/// </summary>
[TestFixture]
public class CheckInteropTests : InteropFixture
{
    private static readonly string[][] Modes =
    [
        [],
        ["-r", "leaks"],
        ["-r", "all"],
    ];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var name in DamagedImages.All.Keys)
        {
            foreach (var mode in Modes)
            {
                yield return new TestCaseData(name, mode).SetName($"Check_matches_qemu_img({name}, {(mode.Length == 0 ? "report" : mode[1])})");
            }
        }
    }

    private static IEnumerable<TestCaseData> OutputCases()
    {
        string[] names = ["healthy", "leak-past-data", "data-at-l1", "refcount-zero-l1", "l1-points-at-itself", "compressed", "snapshot-too-much-extra", "cluster-512-leak"];
        string[][] options = [["--output=json"], ["--output=json", "-r", "all"], ["-q", "-r", "leaks"], ["-U"], ["-f", "qcow2", "-T", "none", "-r", "all"]];
        foreach (var name in names)
        {
            foreach (var o in options)
            {
                yield return new TestCaseData(name, o).SetName($"Check_output_matches_qemu_img({name}, {string.Join(' ', o)})");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    [TestCaseSource(nameof(OutputCases))]
    public void Check_matches_qemu_img(string scenario, string[] options)
    {
        string dir = Dir;
        string original = Path.Combine(dir, "orig.qcow2");
        DamagedImages.All[scenario](original);
        File.Copy(original, Path.Combine(dir, "q.qcow2"));
        File.Copy(original, Path.Combine(dir, "o.qcow2"));

        var (qCode, qOut, qErr) = ToolProcess.Run("qemu-img", dir, ["check", .. options, "q.qcow2"]);
        var (oCode, oOut, oErr) = InProcess.Qimg(dir, ["check", .. options, "o.qcow2"]);

        string Normalize(string s, string name) => Regex.Replace(s.Replace(name, "IMG"), "^qemu-img: ", "qimg: ", RegexOptions.Multiline);
        Assert.Multiple(() =>
        {
            Assert.That(Normalize(oOut, "o.qcow2"), Is.EqualTo(Normalize(qOut, "q.qcow2")), "stdout");
            Assert.That(Normalize(oErr, "o.qcow2"), Is.EqualTo(Normalize(qErr, "q.qcow2")), "stderr");
            Assert.That(oCode, Is.EqualTo(qCode), "exit code");
        });
        var q = File.ReadAllBytes(Path.Combine(dir, "q.qcow2"));
        var o = File.ReadAllBytes(Path.Combine(dir, "o.qcow2"));
        Assert.That(o.Length, Is.EqualTo(q.Length), "image length after the check");
        int diff = Enumerable.Range(0, q.Length).FirstOrDefault(i => q[i] != o[i], -1);
        Assert.That(diff, Is.EqualTo(-1), $"images differ first at byte 0x{diff:x}");
        Directory.Delete(dir, true);
    }

    [Test]
    public void Opening_a_dirty_image_read_write_repairs_it_like_qemu_io()
    {
        string dir = Dir;
        Directory.CreateDirectory(dir);
        string img = Path.Combine(dir, "orig.qcow2");
        ToolProcess.Must("qemu-img", dir, "create", "-f", "qcow2", "-o", "lazy_refcounts=on", img, "64M");
        // Killing qemu-io after a write leaves the dirty bit set and the refcounts stale.
        ToolProcess.Run("qemu-io", dir, "-c", "write -P 1 0 128k", "-c", "sigraise 9", img);
        Assume.That(ImageBytes.Peek(img, 79, 1)[0] & 1, Is.EqualTo(1), "the image is not dirty");
        File.Copy(img, Path.Combine(dir, "q.qcow2"));
        File.Copy(img, Path.Combine(dir, "o.qcow2"));

        var (code, _, qErr) = ToolProcess.Run("qemu-io", dir, "-c", "read -P 1 0 128k", "q.qcow2");
        Assert.That(code, Is.EqualTo(0), qErr);

        var err = new StringWriter { NewLine = "\n" };
        using (var dev = ImageOpener.Open("o.qcow2", new OpenOptions { Format = "qcow2", BaseDirectory = dir, Diagnostics = err }))
        {
            var buf = new byte[128 * 1024];
            dev.Read(0, buf);
            Assert.That(buf, Is.All.EqualTo((byte)1));
        }
        Assert.That(err.ToString(), Is.EqualTo(qErr));
        FileBytes.AssertSame(Path.Combine(dir, "o.qcow2"), Path.Combine(dir, "q.qcow2"));
    }

    [TestCase("-r", "bogus", "img.qcow2")]
    [TestCase("--output=xml", "img.qcow2")]
    [TestCase("-T", "bogus", "img.qcow2")]
    [TestCase("-U", "-r", "all", "img.qcow2")]
    [TestCase("img.qcow2", "extra")]
    [TestCase("-x", "img.qcow2")]
    [TestCase("-r")]
    [TestCase("--image-opts", "-f", "qcow2", "img.qcow2")]
    [TestCase("--image-opts", "img.qcow2")]
    [TestCase("--image-opts", "driver=qcow2,file.filename=img.qcow2")]
    [TestCase("--repair=all", "img.qcow2")]
    [TestCase("missing.qcow2")]
    [TestCase("raw.img")]
    [TestCase("-r", "all", "raw.img")]
    public void Command_line_handling_matches_qemu_img(params string[] args)
    {
        string dir = Dir;
        ToolProcess.Must("qemu-img", dir, "create", "-f", "qcow2", "img.qcow2", "64M");
        using (var f = File.Create(Path.Combine(dir, "raw.img")))
        {
            f.SetLength(1 << 20);
        }
        var (qCode, qOut, qErr) = ToolProcess.Run("qemu-img", dir, ["check", .. args]);
        var (oCode, oOut, oErr) = InProcess.Qimg(dir, ["check", .. args]);
        Assert.Multiple(() =>
        {
            Assert.That(oOut, Is.EqualTo(qOut), "stdout");
            Assert.That(oErr, Is.EqualTo(Regex.Replace(qErr, "^qemu-img: ", "qimg: ", RegexOptions.Multiline).Replace("Try 'qemu-img --help'", "Try 'qimg --help'")), "stderr");
            Assert.That(oCode, Is.EqualTo(qCode), "exit code");
        });
    }
}
