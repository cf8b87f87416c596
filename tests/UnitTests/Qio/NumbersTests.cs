using NUnit.Framework;
using Qcow2.Tools.Qio;

namespace Qcow2.UnitTests.Qio;

/// <summary>cvtnum, pattern bytes and strtol as qemu-io 7.2 parses them (cases checked against the real tool).</summary>
[TestFixture]
public class NumbersTests
{
    [TestCase("0", 0L)]
    [TestCase("512", 512L)]
    [TestCase("1k", 1024L)]
    [TestCase("1K", 1024L)]
    [TestCase("64k", 65536L)]
    [TestCase("1M", 1048576L)]
    [TestCase("2G", 2147483648L)]
    [TestCase("1T", 1099511627776L)]
    [TestCase("1P", 1125899906842624L)]
    [TestCase("7E", 8070450532247928832L)]
    [TestCase("1b", 1L)]
    [TestCase("1B", 1L)]
    [TestCase("0x10", 16L)]
    [TestCase("0x1k", 1024L)]
    [TestCase("1.5k", 1536L)]
    [TestCase("1.0", 1L)]
    [TestCase("1.", 1L)]
    [TestCase("1.k", 1024L)]
    [TestCase("0.0001k", 0L)]
    [TestCase("0.0005k", 1L)]
    [TestCase("9223372036854775807", long.MaxValue)]
    public void Cvtnum_accepts(string text, long expected) => Assert.That(Numbers.Cvtnum(text), Is.EqualTo(expected));

    [TestCase("abc")]
    [TestCase("1.5")]
    [TestCase(".5k")]
    [TestCase("1.5e3")]
    [TestCase("0x")]
    [TestCase("0x10.5")]
    [TestCase("-1")]
    [TestCase("1x")]
    [TestCase("1kk")]
    [TestCase("")]
    public void Cvtnum_rejects_as_invalid(string text) => Assert.That(Numbers.Cvtnum(text), Is.EqualTo(-(long)Errno.EINVAL));

    [TestCase("8E")]
    [TestCase("9223372036854775808")]
    [TestCase("18446744073709551615")]
    [TestCase("18446744073709551616")]
    [TestCase("16385P")]
    public void Cvtnum_rejects_as_too_large(string text) => Assert.That(Numbers.Cvtnum(text), Is.EqualTo(-(long)Errno.ERANGE));

    [Test]
    public void Hex_with_a_suffix_warns_as_deprecated()
    {
        var warnings = new List<string>();
        Assert.That(Numbers.Cvtnum("0x2M", warnings), Is.EqualTo(2L << 20));
        Assert.That(warnings, Is.EqualTo(new[] { "Using a multiplier suffix on hex numbers is deprecated: 0x2M" }));
        warnings.Clear();
        Numbers.Cvtnum("2M", warnings);
        Assert.That(warnings, Is.Empty);
    }

    [Test]
    public void Cvtnum_errors_read_as_qemu_io_prints_them()
    {
        Assert.That(Numbers.CvtnumError(-(long)Errno.EINVAL, "abc"),
            Is.EqualTo("Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- abc"));
        Assert.That(Numbers.CvtnumError(-(long)Errno.ERANGE, "8E"), Is.EqualTo("Parsing error: argument too large -- 8E"));
    }

    [TestCase("0", 0)]
    [TestCase("255", 255)]
    [TestCase("0x41", 0x41)]
    [TestCase("010", 8)]
    [TestCase("0xff", 255)]
    public void Pattern_bytes_parse_like_strtol(string text, int expected)
    {
        var o = new StringWriter();
        Assert.That(Numbers.ParsePattern(text, o), Is.EqualTo(expected));
        Assert.That(o.ToString(), Is.Empty);
    }

    [TestCase("256")]
    [TestCase("-1")]
    [TestCase("0x")]
    [TestCase("08")]
    [TestCase("1k")]
    public void Bad_pattern_bytes_are_reported(string text)
    {
        var o = new StringWriter { NewLine = "\n" };
        Assert.That(Numbers.ParsePattern(text, o), Is.Null);
        Assert.That(o.ToString(), Is.EqualTo($"{text} is not a valid pattern byte\n"));
    }
}
