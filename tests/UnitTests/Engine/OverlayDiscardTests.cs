using Qcow2.Storage;

namespace Qcow2.UnitTests.Engine;

/// <summary>
/// The overlay keeps a discard of whole pages as one shared zero page: reads see zeros, a later write into a discarded
/// page sees zeros around it (not the inner store's old bytes), and the inner store stays untouched.
/// </summary>
[TestFixture]
public class OverlayDiscardTests
{
    [TestCase(0, 65536)]
    [TestCase(100, 20000)]
    [TestCase(4096, 4096)]
    [TestCase(5000, 100)]
    public void Discarded_ranges_read_as_zeros_and_later_writes_land_on_zeros(int offset, int length)
    {
        var innerBytes = new byte[70000];
        new Random(7).NextBytes(innerBytes);
        TestContext.Out.WriteLine("seed 7");
        var inner = new MemoryStorage((byte[])innerBytes.Clone());
        var o = new OverlayStorage(inner);
        o.Discard(offset, length);
        var expected = (byte[])innerBytes.Clone();
        Array.Clear(expected, offset, length);
        int at = offset + length / 2;
        o.Write(at, new byte[] { 1, 2, 3 });
        expected[at] = 1;
        expected[at + 1] = 2;
        expected[at + 2] = 3;
        var back = new byte[innerBytes.Length];
        o.Read(0, back);
        var untouched = new byte[innerBytes.Length];
        inner.Read(0, untouched);
        Assert.Multiple(() =>
        {
            Assert.That(back, Is.EqualTo(expected));
            Assert.That(untouched, Is.EqualTo(innerBytes), "the inner store must not change");
            Assert.That(o.Requests.Select(r => r.Kind), Is.EqualTo(new[] { HeldRequestKind.Discard, HeldRequestKind.Write }));
        });
    }
}
