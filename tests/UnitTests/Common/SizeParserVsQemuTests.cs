using System.Text.RegularExpressions;
using Qcow2.Overlap;
using Qcow2.Tools.Qio;
using Qcow2.UnitTests.Qimg;

namespace Qcow2.UnitTests.Common;

/// <summary>
/// The one qemu_strtosz (engine/Options/QemuNumbers) against the real qemu-img and qemu-io 7.2 on tricky sizes:
/// fractions (rounded as QEMU's 64.64 fixed point does, including a fraction that strtod rounds up to 1), suffixes,
/// hex, signs, white space, exponents, overflow. Each input goes through `create SIZE` (qemu-img's cvtnum) and
/// `read 0 SIZE` (qemu-io's cvtnum); the tools' answers must be ours, and our parser must give the number they print.
/// </summary>
[TestFixture]
public sealed class SizeParserVsQemuTests : QimgFixture
{
    /// <summary>Inputs for qemu-img create (passed after "--", so signs and white space reach the parser).</summary>
    private static readonly string[] CreateInputs =
    [
        "0", "1", "512", "1k", "1K", "1b", "1B", "k", "", " ", "1.0005k", "0.99999999999999999999k",
        "1.9999999999999999999k", "1.00048828125k", "0.1k", "0.0000001k", "1.k", ".5k", "1.5", "1.0", "1.5b",
        "2.5M", "1.5e3", "1.5e3k", "1e3", "1E", "-1", " -1", "-0", "+1k", " 1k", "\t2k", "1k ", "0x10", "0x10k",
        "0X1fM", "0x1.8k", "00x10", "0x", "0xk", "0x8000000000000000", "1x", "1kk", "7E", "8E", "16E",
        "15.9999999999E", "7.99999999999999999E", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "18446744073709551616k", "99999999999999999999999", "1.5T", "0.5G", "1.5P",
    ];

    /// <summary>Inputs for qemu-io read (its command line splits on spaces, so none here has white space).</summary>
    private static readonly string[] ReadInputs =
    [
        "0", "1", "1k", "k", "1.0005k", "0.99999999999999999999k", "1.9999999999999999999k", "1.00048828125k",
        "0.1k", "0.0000001k", "1.k", ".5k", "1.5", "1.0", "1.5b", "2.5M", "1.5e3", "1e3", "+1k", "0x10", "0x10k",
        "0x1.8k", "00x10", "0x", "0xk", "1x", "2G", "8E", "16E", "15.9999999999E", "7.99999999999999999E",
        "9223372036854775807", "18446744073709551615", "18446744073709551616", "18446744073709551616k",
    ];

    private static readonly Regex SizeField = new(@" size=(\d+)", RegexOptions.CultureInvariant);

    [TestCaseSource(nameof(CreateInputs))]
    public void Create_size_parses_as_qemu_img_parses_it(string size)
    {
        RunResult qemu = QemuImg("create", "-f", "qcow2", "i.qcow2", "--", size);
        File.Delete(PathOf("i.qcow2"));
        RunResult ours = Qimg("create", "-f", "qcow2", "i.qcow2", "--", size);
        Assert.That(FirstLine(ours.Err), Is.EqualTo(FirstLine(qemu.Err)), $"[{size}]\nqemu-img: {qemu}\nqimg: {ours}");
        Match m = SizeField.Match(qemu.Out);
        Assert.That(SizeField.Match(ours.Out).Value, Is.EqualTo(m.Value), $"[{size}]\nqemu-img: {qemu}\nqimg: {ours}");
        if (m.Success)
        {
            Assert.That(QemuNumbers.StrToSize(size, out ulong v), Is.EqualTo(QemuNumbers.Status.Ok));
            Assert.That(v.ToString(System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(m.Groups[1].Value), $"[{size}]");
            Assert.That(QemuOptionSyntax.ParseSize("x", size), Is.EqualTo(v), "the engine's option parsing uses the same parser");
        }
    }

    [TestCaseSource(nameof(ReadInputs))]
    public void Read_length_parses_as_qemu_io_parses_it(string length)
    {
        File.WriteAllBytes(PathOf("r.raw"), new byte[4 << 20]);
        RunResult qemu = Qemu("qemu-io", "-f", "raw", "-c", $"read 0 {length}", "r.raw");
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int rc = QioTool.Run(["-f", "raw", "-c", $"read 0 {length}", "r.raw"], new ToolContext(TextReader.Null, o, e, Dir));
        string why = $"[{length}]\nqemu-io: {qemu}\nqio: exit {rc}\n{o}{e}";
        Assert.That(FirstLine(o.ToString()), Is.EqualTo(FirstLine(qemu.Out)), why);
        Assert.That(e.ToString().Replace("qio:", "qemu-io:", StringComparison.Ordinal), Is.EqualTo(qemu.Err), why);
    }

    private static string FirstLine(string text) => text.Split('\n')[0];
}
