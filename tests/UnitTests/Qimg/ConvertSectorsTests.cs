using NUnit.Framework;
using Qcow2.Cli;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qemu-img convert's sparse detection (is_allocated_sectors[_min]) and its progress meter, without QEMU.</summary>
[TestFixture]
public class ConvertSectorsTests
{
    private const int S = ConvertSectors.SectorSize;

    /// <summary>A buffer of the given sectors, each 'D' (data) or '0' (zeros).</summary>
    private static byte[] Sectors(string layout)
    {
        var b = new byte[layout.Length * S];
        for (int i = 0; i < layout.Length; i++)
        {
            if (layout[i] == 'D')
            {
                b[(i * S) + 7] = 0xAB;
            }
        }
        return b;
    }

    [TestCase("DDDD", 0, 8, true, 4)]
    [TestCase("0000", 0, 8, false, 4)]
    [TestCase("DD00000000", 0, 8, true, 8)]
    [TestCase("DD00000000", 0, 1, true, 2)]
    [TestCase("000000000D", 0, 8, false, 8)]
    [TestCase("000D", 0, 8, true, 4)]
    [TestCase("00000D", 2, 8, true, 6)]
    [TestCase("000000000000D", 1, 8, false, 7)]
    public void IsAllocated_aligns_the_end_of_the_first_run(string layout, long sectorNum, int alignment, bool data, int count)
    {
        bool got = ConvertSectors.IsAllocated(Sectors(layout), layout.Length, out int n, sectorNum, alignment);
        Assert.That((got, n), Is.EqualTo((data, count)), layout);
    }

    [TestCase("DDDDDDDD00000000DDDDDDDD", 16, true, 24)]
    [TestCase("DDDDDDDD00000000DDDDDDDD", 8, true, 8)]
    [TestCase("D00000000000000000000000D", 8, true, 8)]
    [TestCase("D0000000000000000", 8, true, 8)]
    [TestCase("0000000000000000D", 8, false, 16)]
    [TestCase("DD0D", 8, true, 4)]
    public void IsAllocatedMin_keeps_short_holes_inside_data(string layout, int min, bool data, int count)
    {
        bool got = ConvertSectors.IsAllocatedMin(Sectors(layout), layout.Length, out int n, min, 0, 8);
        Assert.That((got, n), Is.EqualTo((data, count)), layout);
    }

    [Test]
    public void IsZero_sees_a_single_byte()
    {
        var b = new byte[4096];
        Assert.That(ConvertSectors.IsZero(b), Is.True);
        b[4095] = 1;
        Assert.That(ConvertSectors.IsZero(b), Is.False);
    }

    [Test]
    public void Progress_prints_steps_larger_than_the_minimum_and_the_ends()
    {
        var output = new StringWriter();
        var ctx = new ToolContext(TextReader.Null, output, TextWriter.Null, ".");
        var p = new ConvertProgress(ctx, enabled: true, minSkip: 1.0f);
        p.Print(0, 100);
        p.Print(0.5f, 0);
        p.Print(1.5f, 0);
        p.Print(float.NaN, 0);
        p.Print(100, 0);
        p.Print(100, 0);
        p.End();
        Assert.That(output.ToString(), Is.EqualTo("    (0.00/100%)\r    (1.50/100%)\r    (100.00/100%)\r    (100.00/100%)\r\n"));
    }

    [Test]
    public void Progress_prints_nothing_when_disabled()
    {
        var output = new StringWriter();
        var p = new ConvertProgress(new ToolContext(TextReader.Null, output, TextWriter.Null, "."), enabled: false, minSkip: 1.0f);
        p.Print(0, 100);
        p.Print(100, 0);
        p.End();
        Assert.That(output.ToString(), Is.Empty);
    }
}
