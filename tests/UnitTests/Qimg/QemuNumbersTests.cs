using NUnit.Framework;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qemu_strtosz and qemu_strtou64 as qemu-img 7.2 applies them (values observed with the real tool).</summary>
[TestFixture]
public class QemuNumbersTests
{
    [TestCase("0", 0UL)]
    [TestCase("1", 1UL)]
    [TestCase("512", 512UL)]
    [TestCase("1b", 1UL)]
    [TestCase("1B", 1UL)]
    [TestCase("1k", 1024UL)]
    [TestCase("1K", 1024UL)]
    [TestCase("1m", 1048576UL)]
    [TestCase("64M", 67108864UL)]
    [TestCase("1G", 1073741824UL)]
    [TestCase("1T", 1099511627776UL)]
    [TestCase("1P", 1125899906842624UL)]
    [TestCase("1E", 1152921504606846976UL)]
    [TestCase("1.5M", 1572864UL)]
    [TestCase("0.5k", 512UL)]
    [TestCase("1.2345k", 1264UL)]
    [TestCase("1.0000000000000001k", 1024UL)]
    [TestCase("1.99999999999999999999k", 1024UL)]
    [TestCase("1.k", 1024UL)]
    [TestCase("1.", 1UL)]
    [TestCase(" 1M", 1048576UL)]
    [TestCase("+1", 1UL)]
    [TestCase("0x100", 256UL)]
    [TestCase("0x10b", 267UL)]
    [TestCase("0x10k", 16384UL)]
    [TestCase("1.5E", 1729382256910270464UL)]
    [TestCase("15E", 17293822569102704640UL)]
    public void StrToSize_accepts(string text, ulong expected)
    {
        Assert.That(QemuNumbers.StrToSize(text, out ulong v), Is.EqualTo(QemuNumbers.Status.Ok));
        Assert.That(v, Is.EqualTo(expected));
    }

    [TestCase("")]
    [TestCase("abc")]
    [TestCase("1X")]
    [TestCase("1MB")]
    [TestCase("1 M")]
    [TestCase("1M ")]
    [TestCase("1e3")]
    [TestCase("1.5")]
    [TestCase("0.1")]
    [TestCase("1.5b")]
    [TestCase("1k5")]
    [TestCase("-1")]
    [TestCase(" -5k")]
    [TestCase("0x1.8M")]
    [TestCase("0x.5k")]
    [TestCase("0x")]
    [TestCase(".5k")]
    [TestCase("1.5e3k")]
    [TestCase("99999999999999999999k")]
    public void StrToSize_rejects(string text)
    {
        Assert.That(QemuNumbers.StrToSize(text, out _), Is.EqualTo(QemuNumbers.Status.Invalid));
    }

    [TestCase("16E")]
    [TestCase("18446744073709551616")]
    [TestCase("123456789012345678901234")]
    public void StrToSize_reports_overflow(string text)
    {
        Assert.That(QemuNumbers.StrToSize(text, out _), Is.EqualTo(QemuNumbers.Status.OutOfRange));
    }

    [Test]
    public void StrToSize_warns_about_suffixes_on_hex_numbers()
    {
        var warnings = new List<string>();
        QemuNumbers.StrToSize("0x1M", out ulong v, warnings.Add);
        Assert.That(v, Is.EqualTo(1048576UL));
        Assert.That(warnings, Is.EqualTo(new[] { "Using a multiplier suffix on hex numbers is deprecated: 0x1M" }));
    }

    [TestCase("16", 0, 16UL)]
    [TestCase("0x10", 0, 16UL)]
    [TestCase("010", 0, 8UL)]
    [TestCase("-1", 0, ulong.MaxValue)]
    [TestCase(" 7", 0, 7UL)]
    public void StrToU64_accepts_c_notation(string text, int numberBase, ulong expected)
    {
        Assert.That(QemuNumbers.StrToU64(text, numberBase, out ulong v), Is.EqualTo(QemuNumbers.Status.Ok));
        Assert.That(v, Is.EqualTo(expected));
    }

    [TestCase("abc", QemuNumbers.Status.Invalid)]
    [TestCase("08", QemuNumbers.Status.Invalid)]
    [TestCase("1x", QemuNumbers.Status.Invalid)]
    [TestCase("99999999999999999999", QemuNumbers.Status.OutOfRange)]
    [TestCase("99999999999999999999x", QemuNumbers.Status.Invalid)]
    public void StrToU64_rejects(string text, QemuNumbers.Status expected)
    {
        Assert.That(QemuNumbers.StrToU64(text, 0, out _), Is.EqualTo(expected));
    }

    [Test]
    public void Cvtnum_names_the_suffixes_on_bad_input()
    {
        var e = Assert.Throws<QimgException>(() => QimgNumbers.Cvtnum("image size", "12Q"))!;
        Assert.That(e.Message, Is.EqualTo("Invalid image size specified. You may use k, M, G, T, P or E suffixes for"));
        Assert.That(e.Hint, Is.EqualTo("qimg: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n"));
    }

    [TestCase("8E")]
    [TestCase("9223372036854775808")]
    [TestCase("16E")]
    public void Cvtnum_names_the_range_above_int64(string text)
    {
        var e = Assert.Throws<QimgException>(() => QimgNumbers.Cvtnum("image size", text))!;
        Assert.That(e.Message, Is.EqualTo("Invalid image size specified. Must be between 0 and 9223372036854775807."));
    }
}
