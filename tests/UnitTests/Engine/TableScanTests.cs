using System.Buffers.Binary;
using Qcow2.Storage;

namespace Qcow2.UnitTests.Engine;

/// <summary>TableScan visits exactly the non-zero big-endian entries of a table, in order, whatever bytes they have set.</summary>
[TestFixture]
public class TableScanTests
{
    [TestCase(1, 0)]
    [TestCase(2, 1)]
    [TestCase(3, 131072)]
    [TestCase(4, 1000)]
    public void Visits_every_non_zero_entry_and_nothing_else(int seed, int entries)
    {
        TestContext.Out.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        var table = new ulong[entries];
        for (int i = 0; i < entries; i++)
        {
            // Sparse, with single set bytes anywhere in the entry (the first, the last, or a middle byte).
            table[i] = rng.Next(50) == 0 ? (ulong)rng.Next(1, 256) << (8 * rng.Next(8)) : 0;
        }
        if (entries > 0)
        {
            table[^1] = 1;
        }
        var bytes = new byte[entries * 8 + 24];
        for (int i = 0; i < entries; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8 + i * 8), table[i]);
        }
        bytes[0] = 0xff;
        bytes[^1] = 0xff;
        var seen = new List<(int, ulong)>();
        TableScan.ForEachNonZero(new MemoryStorage(bytes), 8, entries, (i, e) => seen.Add((i, e)));
        var expected = table.Select((e, i) => (i, e)).Where(x => x.e != 0).ToList();
        Assert.That(seen, Is.EqualTo(expected));
    }
}
