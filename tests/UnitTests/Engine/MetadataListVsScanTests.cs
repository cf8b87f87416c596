using Qcow2.Block;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Engine;

/// <summary>
/// The series' metadata list against upstream's linear scan as oracle: after every step of a seeded random history,
/// both must agree, for every cluster of the image file, on which structures it holds (except in ranges a
/// memory-limit event declared unchecked).
/// </summary>
[TestFixture]
public sealed class MetadataListVsScanTests
{
    /// <summary>The data of compressed writes (one cluster of zeros, up to the largest cluster size of the cases).</summary>
    private static readonly byte[] Zeros = new byte[2 << 20];

    private static int Steps => int.TryParse(Environment.GetEnvironmentVariable("OVERLAP_DIFF_STEPS"), out int n) ? n : 1500;

    private static IEnumerable<TestCaseData> Cases()
    {
        int? only = int.TryParse(Environment.GetEnvironmentVariable("OVERLAP_DIFF_SEED"), out int s) ? s : null;
        // Seed 8 is a LUKS image: its header (the crypto header structure) sits between the L1 table and the first L2.
        var cases = new (int Seed, int ClusterSize, long Size, string MapCacheSize, string? Limit, bool Luks)[]
        {
            (1, 512, 64L << 20, "65536", null, false),
            (2, 512, 16L << 20, "4096", null, false),
            (3, 65536, 8L << 30, "4096", null, false),
            (4, 2 << 20, 64L << 30, "65536", null, false),
            (5, 512, 32L << 20, "8192", "20000", false),
            (6, 4096, 1L << 30, "4096", null, false),
            (7, 512, 8L << 20, "4096", "4300", false),
            (8, 4096, 64L << 20, "8192", null, true),
        };
        foreach (var c in cases)
        {
            if (only is null || only == c.Seed)
            {
                yield return new TestCaseData(c.Seed, c.ClusterSize, c.Size, c.MapCacheSize, c.Limit, c.Luks)
                    .SetName($"List_agrees_with_scan(seed {c.Seed}, {c.ClusterSize} B clusters, cache {c.MapCacheSize}, limit {c.Limit ?? "none"}{(c.Luks ? ", LUKS" : "")})");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void List_agrees_with_scan(int seed, int clusterSize, long size, string mapCacheSize, string? limit, bool luks)
    {
        var storage = luks ? EngineFixture.NewLuksImage(size, clusterSize) : EngineFixture.NewImage(size, clusterSize);
        var unchecked_ = new List<(long Start, long Length)>();
        var options = new List<(string, string)>
        {
            ("overlap-check", "all"),
            ("overlap-structures.bitmap-size", mapCacheSize),
        };
        if (luks)
        {
            options.Add(EngineFixture.LuksOptions);
        }
        if (limit is not null)
        {
            options.Add(("overlap-structures.total-size-limit", limit));
        }
        var rng = new Random(seed);
        byte[] pool = NonZeroPool(rng, clusterSize);
        var img = OpenWithEvents(storage, options, unchecked_);
        try
        {
            for (int step = 0; step < Steps; step++)
            {
                string op = RandomStep(img, rng, pool, clusterSize, size);
                if (step % 97 == 96)
                {
                    img.Dispose();
                    img = OpenWithEvents(storage, options, unchecked_);
                    op += " + reopen";
                }
                Compare(img, unchecked_, $"seed {seed}, step {step} ({op})");
            }
        }
        finally
        {
            img.Dispose();
        }
    }

    private static Qcow2Image OpenWithEvents(Storage.MemoryStorage storage, List<(string, string)> options, List<(long, long)> unchecked_)
    {
        return EngineFixture.Open(storage, e =>
        {
            if (e.Name == "QCOW2_OVERLAP_CHECK_MEMORY_LIMIT_REACHED")
            {
                var d = e.Data.ToDictionary(kv => kv.Key, kv => kv.Value);
                unchecked_.Add((Convert.ToInt64(d["start"]), Convert.ToInt64(d["length"])));
            }
        }, options.ToArray());
    }

    /// <summary>
    /// Bytes none of which is zero, so a write never reads back as a zero cluster: a random window of one buffer made
    /// once per test (the content is not what the list checks; fresh multi-MiB arrays per step cost more than the engine).
    /// </summary>
    private static ReadOnlySpan<byte> NonZeroBytes(Random rng, byte[] pool, int length) =>
        pool.AsSpan(rng.Next(pool.Length - length + 1), length);

    private static byte[] NonZeroPool(Random rng, int clusterSize)
    {
        var data = new byte[2 * clusterSize + 1024];
        rng.NextBytes(data);
        data.AsSpan().Replace((byte)0, (byte)1);
        return data;
    }

    private static string RandomStep(Qcow2Image img, Random rng, byte[] pool, int clusterSize, long size)
    {
        // Offsets cluster around a few hot regions so that tables are reused, plus rare far writes that grow the L1.
        long region = rng.Next(16) == 0 ? size : Math.Min(size, Math.Max(64L << 20, 64L * clusterSize));
        long offset = (long)(rng.NextDouble() * region) & ~511L;
        int len = (int)Math.Min(size - offset, 512L * rng.Next(1, 2 * clusterSize / 512 + 2));
        if (len <= 0)
        {
            return "nothing";
        }
        switch (rng.Next(12))
        {
            case 10:
            case 11:
                return SnapshotStep(img, rng);
            case < 5:
                img.Write(offset, NonZeroBytes(rng, pool, len));
                return $"write {offset} {len}";
            case 5:
            case 6:
                img.WriteZeroes(offset, len, rng.Next(2) == 0);
                return $"write -z {offset} {len}";
            case 7:
            case 8:
                img.Discard(offset, len);
                return $"discard {offset} {len}";
            default:
                if (img.Encrypted)
                {
                    return "nothing"; // compressed clusters of an encrypted image are not this test's concern
                }
                long c = offset & ~(long)(clusterSize - 1);
                int n = (int)Math.Min(clusterSize, size - c);
                try
                {
                    img.WriteCompressed(c, new ReadOnlySpan<byte>(Zeros, 0, n));
                }
                catch (BlockIOException)
                {
                    // Compressed writes refuse allocated clusters, as QEMU's do.
                }
                return $"write -c {c} {n}";
        }
    }

    private static string SnapshotStep(Qcow2Image img, Random rng)
    {
        var snapshots = img.Snapshots;
        int choice = rng.Next(3);
        if (snapshots.Count == 0 || (choice == 0 && snapshots.Count < 4))
        {
            string name = "s" + rng.Next(1000);
            img.CreateSnapshot(name);
            return $"snapshot -c {name}";
        }
        var victim = snapshots[rng.Next(snapshots.Count)];
        if (choice == 1)
        {
            img.ApplySnapshot(victim.Name);
            return $"snapshot -a {victim.Name}";
        }
        img.DeleteSnapshot(victim.Id, null);
        return $"snapshot -d {victim.Id}";
    }

    private static void Compare(Qcow2Image img, List<(long Start, long Length)> unchecked_, string where)
    {
        var list = img.MetadataList;
        Assert.That(list, Is.Not.Null, "the image must use the metadata list");
        int cs = img.ClusterSize;
        long clusters = (img.FileLength + cs - 1) / cs;
        var oracle = img.ScanTypeMap(clusters);
        for (long c = 0; c < clusters; c++)
        {
            long at = c * cs;
            if (unchecked_.Any(r => at >= r.Start && at < r.Start + r.Length))
            {
                continue;
            }
            var got = list!.FindOverlaps(OverlapTypes.None, at, cs);
            if (got != oracle[c])
            {
                Assert.Fail($"{where}: cluster {c} (offset 0x{at:x}): list says {got}, scan says {oracle[c]}");
            }
        }
    }
}
