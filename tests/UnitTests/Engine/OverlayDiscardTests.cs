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

/// <summary>Reads through the overlay: held pages come from memory, and each run of pages it does not hold costs one read
/// of the inner store (a crash-safe snapshot operation reads whole tables through it).</summary>
[TestFixture]
public class OverlayReadTests
{
    /// <summary>Reads 64 KiB at <paramref name="offset"/> through an overlay of a random 1 MiB store after two-byte
    /// writes at <paramref name="writes"/>; requires the bytes and returns the inner reads the read itself made.</summary>
    private static int InnerReadsOfOneRead(int seed, long offset, params int[] writes)
    {
        var innerBytes = new byte[1 << 20];
        new Random(seed).NextBytes(innerBytes);
        var inner = new Support.CountingStorage(new MemoryStorage((byte[])innerBytes.Clone()));
        var o = new OverlayStorage(inner);
        var expected = (byte[])innerBytes.Clone();
        foreach (int at in writes)
        {
            o.Write(at, new byte[] { 0xaa, 0xbb });
            expected[at] = 0xaa;
            expected[at + 1] = 0xbb;
        }
        var back = new byte[65536];
        int before = inner.Reads; // a write into part of a page reads that page first
        o.Read(offset, back);
        Assert.That(back, Is.EqualTo(expected.AsSpan((int)offset, 65536).ToArray()));
        return inner.Reads - before;
    }

    [Test]
    public void A_read_of_pages_the_overlay_does_not_hold_is_one_inner_read() =>
        Assert.That(InnerReadsOfOneRead(11, 262144 + 100), Is.EqualTo(1));

    // [0, 8K) inner, page 2 held, [12K, 40K) inner, page 10 held, [44K, 64K) inner.
    [Test]
    public void Held_pages_split_a_read_into_runs_of_the_inner_store_and_memory() =>
        Assert.That(InnerReadsOfOneRead(12, 0, 8192 + 5, 40960), Is.EqualTo(3));
}
