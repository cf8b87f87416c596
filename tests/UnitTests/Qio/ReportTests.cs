using NUnit.Framework;
using Qcow2.Tools.Qio;

namespace Qcow2.UnitTests.Qio;

/// <summary>cvtstr, timestr, the report lines and the hex dump, as qemu-io 7.2 formats them.</summary>
[TestFixture]
public class ReportTests
{
    [TestCase(0.0, "0 bytes")]
    [TestCase(1.0, "1 bytes")]
    [TestCase(512.0, "512 bytes")]
    [TestCase(0.151407, "0.151407 bytes")]
    [TestCase(376.830927, "376.830927 bytes")]
    [TestCase(1024.0, "1 KiB")]
    [TestCase(1536.0, "1.500 KiB")]
    [TestCase(65536.0, "64 KiB")]
    [TestCase(4194304.0, "4 MiB")]
    [TestCase(1114112.0, "1.062 MiB")]
    [TestCase(65994752.0, "62.938 MiB")]
    [TestCase(536870912.0, "512 MiB")]
    [TestCase(2579045990.4, "2.402 GiB")]
    [TestCase(1099511627776.0, "1 TiB")]
    [TestCase(double.PositiveInfinity, "inf EiB")]
    public void Size_strings(double value, string expected) => Assert.That(Report.SizeString(value), Is.EqualTo(expected));

    [Test]
    public void Time_strings()
    {
        Assert.That(Report.TimeString(TimeSpan.FromTicks(1234), false), Is.EqualTo("00.00 sec"));
        Assert.That(Report.TimeString(TimeSpan.FromMilliseconds(250), false), Is.EqualTo("00.25 sec"));
        Assert.That(Report.TimeString(TimeSpan.FromMilliseconds(250), true), Is.EqualTo("0:00:00.25"));
        Assert.That(Report.TimeString(TimeSpan.FromSeconds(3371.62), false), Is.EqualTo("0:56:11.62"));
        Assert.That(Report.TimeString(new TimeSpan(1, 2, 3) + TimeSpan.FromMilliseconds(40), false), Is.EqualTo("1:02:03.04"));
    }

    [Test]
    public void Report_lines()
    {
        var o = new StringWriter { NewLine = "\n" };
        Report.Print(o, "wrote", TimeSpan.FromMilliseconds(1), 0, 512, 512, 1, false);
        Assert.That(o.ToString(), Is.EqualTo(
            "wrote 512/512 bytes at offset 0\n512 bytes, 1 ops; 00.00 sec (500 KiB/sec and 1000.0000 ops/sec)\n"));
    }

    [Test]
    public void Machine_report_line()
    {
        var o = new StringWriter { NewLine = "\n" };
        Report.Print(o, "read", TimeSpan.FromMilliseconds(2), 4096, 1024, 1024, 1, true);
        Assert.That(o.ToString(), Is.EqualTo("1024,1,0:00:00.00,512000.000,500.000\n"));
    }

    [Test]
    public void Hex_dump_shows_alphanumerics_and_a_short_last_line()
    {
        var o = new StringWriter { NewLine = "\n" };
        byte[] data = [.. "AB c9_xyz-0123456"u8, 0x00];
        Report.Dump(o, data, 0x200);
        Assert.That(o.ToString(), Is.EqualTo(
            "00000200:  41 42 20 63 39 5f 78 79 7a 2d 30 31 32 33 34 35  AB.c9.xyz.012345\n" +
            "00000210:  36 00  6.\n"));
    }
}
