using System.Numerics;
using NUnit.Framework;
using Qcow2.Tools.Mkimage;

namespace Qcow2.UnitTests.Mkimage;

/// <summary>The argument parsers: Python's int(v, 0) and printf-style byte strings.</summary>
[TestFixture]
public class ParserTests
{
    [TestCase("0", 0L)]
    [TestCase("00", 0L)]
    [TestCase("42", 42L)]
    [TestCase(" 42 ", 42L)]
    [TestCase("+7", 7L)]
    [TestCase("-7", -7L)]
    [TestCase("0x1F", 31L)]
    [TestCase("0X1f", 31L)]
    [TestCase("0o17", 15L)]
    [TestCase("0b101", 5L)]
    [TestCase("1_000", 1000L)]
    [TestCase("0x_ff", 255L)]
    public void Int_parser_accepts_what_python_int_v_0_accepts(string text, long expected)
    {
        Assert.That(IntParser.TryParse(text, out var v), Is.True);
        Assert.That(v, Is.EqualTo(new BigInteger(expected)));
    }

    [TestCase("")]
    [TestCase("010")]
    [TestCase("0x")]
    [TestCase("_1")]
    [TestCase("1_")]
    [TestCase("1__0")]
    [TestCase("0b102")]
    [TestCase("12a")]
    [TestCase("- 1")]
    public void Int_parser_rejects_what_python_int_v_0_rejects(string text)
    {
        Assert.That(IntParser.TryParse(text, out _), Is.False);
    }

    [TestCase(-1, 8, 0xffUL)]
    [TestCase(-128, 8, 0x80UL)]
    [TestCase(255, 8, 0xffUL)]
    public void Negative_values_become_twos_complement(long value, int bits, ulong expected)
    {
        Assert.That(IntParser.TryToBits(value, bits, out var raw), Is.True);
        Assert.That(raw, Is.EqualTo(expected));
    }

    [TestCase(256, 8)]
    [TestCase(-129, 8)]
    [TestCase(2, 1)]
    public void Values_outside_the_width_are_refused(long value, int bits)
    {
        Assert.That(IntParser.TryToBits(value, bits, out _), Is.False);
    }

    [TestCase(@"\x80\x00", new byte[] { 0x80, 0x00 })]
    [TestCase(@"\xf", new byte[] { 0x0f })]
    [TestCase(@"\x4g", new byte[] { 0x04, (byte)'g' })]
    [TestCase(@"\0101", new byte[] { 0x08, (byte)'1' })]
    [TestCase(@"\101\7", new byte[] { 0x41, 0x07 })]
    [TestCase(@"a\n\t\\", new byte[] { (byte)'a', 0x0a, 0x09, (byte)'\\' })]
    [TestCase(@"\q", new byte[] { (byte)'\\', (byte)'q' })]
    [TestCase("100%%", new byte[] { (byte)'1', (byte)'0', (byte)'0', (byte)'%' })]
    [TestCase("", new byte[0])]
    public void Printf_bytes_decode_as_bash_printf_does(string format, byte[] expected)
    {
        Assert.That(PrintfBytes.Decode(format), Is.EqualTo(expected));
    }
}
