using Qcow2.Storage;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Engine;

/// <summary>
/// The overlay keeps a discard of whole pages as runs of zero pages: reads see zeros, a later write into a discarded
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

    /// <summary>
    /// Random writes, discards and truncations through the overlay read back as on a plain array, and every held write
    /// keeps the bytes it was issued with, whatever the later requests did to the pages it covered (a page a write covers
    /// whole is a view of the held write's bytes).
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Random_requests_read_back_as_on_a_plain_array(int seed)
    {
        var rng = new Random(seed);
        var model = new byte[1 << 20];
        rng.NextBytes(model);
        var inner = new MemoryStorage((byte[])model.Clone());
        var o = new OverlayStorage(inner);
        long length = model.Length;
        var issued = new List<byte[]>();
        for (int step = 0; step < 400; step++)
        {
            long at = rng.Next(model.Length - 70000), n = rng.Next(1, 70000);
            switch (rng.Next(5))
            {
                case 0:
                case 1:
                    var data = new byte[n];
                    rng.NextBytes(data);
                    o.Write(at, data);
                    issued.Add((byte[])data.Clone());
                    data.CopyTo(model, at);
                    length = Math.Max(length, at + n);
                    break;
                case 2:
                case 3:
                    o.Discard(at, n);
                    Array.Clear(model, (int)at, (int)Math.Max(0, Math.Min(n, length - at)));
                    break;
                default:
                    long cut = model.Length - rng.Next(4096 * 8);
                    o.SetLength(cut);
                    Array.Clear(model, (int)cut, model.Length - (int)cut);
                    o.SetLength(model.Length);
                    length = model.Length;
                    break;
            }
            long from = rng.Next(model.Length - 65536);
            var back = new byte[65536];
            o.Read(from, back);
            Assert.That(InteropFixture.FirstDifference(back, model[(int)from..((int)from + 65536)]), Is.EqualTo(-1), $"seed {seed}, step {step}");
        }
        var all = new byte[model.Length];
        o.Read(0, all);
        Assert.That(InteropFixture.FirstDifference(all, model), Is.EqualTo(-1), $"seed {seed}, whole store");
        var held = o.Requests.Where(r => r.Kind == HeldRequestKind.Write).Select(r => r.Data).ToList();
        Assert.That(held, Has.Count.EqualTo(issued.Count));
        for (int i = 0; i < held.Count; i++)
        {
            Assert.That(InteropFixture.FirstDifference(held[i], issued[i]), Is.EqualTo(-1), $"seed {seed}, held write {i}");
        }
    }
}

/// <summary>PageRuns against a set of page numbers.</summary>
[TestFixture]
public class PageRunsTests
{
    [TestCase(1)]
    [TestCase(2)]
    public void Runs_hold_exactly_the_pages_added(int seed)
    {
        var rng = new Random(seed);
        var runs = new PageRuns();
        var model = new HashSet<long>();
        for (int i = 0; i < 300; i++)
        {
            long start = rng.Next(2000), end = start + rng.Next(0, 40);
            runs.Add(start, end);
            for (long p = start; p < end; p++)
            {
                model.Add(p);
            }
        }
        for (long p = -1; p < 2100; p++)
        {
            Assert.That(runs.Contains(p), Is.EqualTo(model.Contains(p)), $"page {p}");
        }
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
