using NUnit.Framework;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Overlap;

/// <summary>
/// Seeded random histories of Enter / Remove / Check against a per-cluster dictionary model. Without a limit the list must
/// equal the model; with one, the list may only lack types, and only in ranges a memory-limit event declared unchecked.
/// Set OVERLAP_DIFF_SEED to replay a failure, OVERLAP_DIFF_STEPS for a long run.
/// </summary>
[TestFixture]
public class MetadataListDifferentialTests
{
    private const int DomainWindows = 5;
    private const long W = MetadataList.WindowClusters;

    private sealed record Config(int ClusterBits, long MapCacheSize, long? Limit, OverlapTypes Enabled);

    private static IEnumerable<TestCaseData> Seeds()
    {
        string? env = Environment.GetEnvironmentVariable("OVERLAP_DIFF_SEED");
        if (env != null)
        {
            yield return new TestCaseData(int.Parse(env)).SetName("Replay seed " + env);
            yield break;
        }

        foreach (int seed in new[] { 1, 2, 3, 4, 5, 6, 7, 8 })
        {
            yield return new TestCaseData(seed);
        }

        yield return new TestCaseData(Environment.TickCount & 0x7fffffff).SetName("Random seed");
    }

    [TestCaseSource(nameof(Seeds))]
    public void List_agrees_with_the_model(int seed)
    {
        int steps = int.TryParse(Environment.GetEnvironmentVariable("OVERLAP_DIFF_STEPS"), out int s) ? s : 1500;
        try
        {
            Run(seed, steps);
        }
        catch (Exception e) when (e is not SuccessException)
        {
            TestContext.Out.WriteLine($"seed {seed} (replay with OVERLAP_DIFF_SEED={seed})");
            throw new AssertionException($"seed {seed}: {e.Message}", e);
        }
    }

    private static Config PickConfig(Random rng)
    {
        int bits = rng.Next(3) switch { 0 => 9, 1 => 16, _ => 21 };
        long mapCache = rng.Next(4) switch { 0 => 0, 1 => 4096, 2 => 3 * 4096, _ => 65536 };
        long slots = Math.Max(1, mapCache / 4096);
        long baseBytes = 56 + DomainWindows * 32 + slots * 4;
        long? limit = rng.Next(3) switch
        {
            0 => null,
            1 => baseBytes + rng.Next(0, 3 * 4096),   // tight: zero to a few maps
            _ => baseBytes + rng.Next(2 * 4096, 7 * 4096),
        };
        var enabled = rng.Next(4) == 0 ? (OverlapTypes)rng.Next(1, 0x200) : OverlapTemplates.All;
        return new Config(bits, mapCache, limit, enabled);
    }

    private static void Run(int seed, int steps)
    {
        var rng = new Random(seed);
        var cfg = PickConfig(rng);
        long clusterSize = 1L << cfg.ClusterBits;
        long domain = DomainWindows * W;
        var model = new Dictionary<long, OverlapTypes>();
        var unchecked_ = new bool[domain];
        var seen = new HashSet<(long, long)>();
        var list = MetadataList.Create(cfg.ClusterBits, domain * clusterSize, cfg.MapCacheSize, cfg.Limit, cfg.Enabled, (start, length) =>
        {
            Assert.That(start % clusterSize, Is.Zero);
            Assert.That(length % clusterSize, Is.Zero);
            if (!seen.Add((start, length)))
            {
                return;
            }

            for (long c = start / clusterSize; c < Math.Min(domain, (start + length) / clusterSize); c++)
            {
                unchecked_[c] = true;
            }
        });

        for (int step = 0; step < steps; step++)
        {
            var types = (OverlapTypes)rng.Next(1, 0x200);
            if (rng.Next(3) == 0)
            {
                types = OverlapTypeInfo.All[rng.Next(OverlapTypeInfo.Count)].Type;
            }

            long cluster = rng.Next(4) == 0 ? rng.NextInt64(domain) : rng.Next(2) * W - rng.Next(0, 40) + rng.NextInt64(DomainWindows) * W;
            cluster = Math.Clamp(cluster, 0, domain - 1);
            long count = rng.Next(5) == 0 ? rng.Next(0, 2 * (int)W) : rng.Next(0, 8);
            count = Math.Min(count, domain - cluster - 1);
            bool unaligned = rng.Next(8) == 0;
            long offset = cluster * clusterSize + (unaligned ? rng.NextInt64(1, clusterSize) : 0);
            string what;
            switch (rng.Next(10))
            {
                case < 4:
                    what = $"enter {offset:x} {count} {types}";
                    list.Enter(offset, count, types);
                    if (!unaligned)
                    {
                        for (long c = cluster; c < cluster + count; c++)
                        {
                            model[c] = model.GetValueOrDefault(c) | (types & cfg.Enabled);
                        }
                    }

                    break;
                case < 6:
                    what = $"remove {offset:x} {count} {types}";
                    list.Remove(offset, count, types);
                    for (long c = cluster; c < cluster + count + (unaligned ? 1 : 0); c++)
                    {
                        model[c] = model.GetValueOrDefault(c) & ~(types & cfg.Enabled);
                    }

                    break;
                case < 8:
                    // Many alternating single-cluster runs in one window, to reach the abandon threshold.
                    long start = rng.NextInt64(DomainWindows) * W;
                    int runs = rng.Next(300, 800);
                    what = $"runs {start} {runs}";
                    for (long i = 0; i < runs; i++)
                    {
                        list.Enter((start + 2 * i) * clusterSize, 1, OverlapTypes.ActiveL2);
                        model[start + 2 * i] = model.GetValueOrDefault(start + 2 * i) | (OverlapTypes.ActiveL2 & cfg.Enabled);
                    }

                    break;
                default:
                    var ignore = rng.Next(3) == 0 ? (OverlapTypes)rng.Next(0x200) : OverlapTypes.None;
                    long size = rng.Next(4) == 0 ? 0 : rng.NextInt64(1, 3 * clusterSize * 4);
                    what = $"check {ignore} {offset:x} {size}";
                    var got = list.FindOverlaps(ignore, offset, size);
                    long last = (offset + size + clusterSize - 1) / clusterSize;
                    var expected = OverlapTypes.None;
                    bool anyUnchecked = false;
                    for (long c = offset / clusterSize; c < Math.Min(last, domain); c++)
                    {
                        expected |= model.GetValueOrDefault(c);
                        anyUnchecked |= unchecked_[c];
                    }

                    expected &= ~ignore;
                    if (anyUnchecked)
                    {
                        Assert.That(got & ~expected, Is.EqualTo(OverlapTypes.None), $"step {step} {what}: extra types");
                    }
                    else
                    {
                        Assert.That(got, Is.EqualTo(expected), $"step {step} {what}");
                    }

                    break;
            }

            Assert.That(list.MemoryUsage, Is.EqualTo(list.ComputeNominalUsage()), $"step {step} {what}: accounting");
            if (cfg.Limit is { } limit)
            {
                Assert.That(list.MemoryUsage, Is.LessThanOrEqualTo(limit), $"step {step} {what}: limit");
            }

            if (step % 100 == 99 || step == steps - 1)
            {
                Sweep(list, model, unchecked_, domain, $"step {step} {what}, config {cfg}");
            }
        }
    }

    /// <summary>Compares every cluster of the domain (the checks themselves load windows, as the engine's would).</summary>
    private static void Sweep(MetadataList list, Dictionary<long, OverlapTypes> model, bool[] unchecked_, long domain, string context)
    {
        long clusterSize = 1L << list.ClusterBits;
        for (long c = 0; c < domain; c++)
        {
            var got = list.FindOverlaps(OverlapTypes.None, c * clusterSize, clusterSize);
            var expected = model.GetValueOrDefault(c);
            if (got == expected)
            {
                continue;
            }

            Assert.That(got & ~expected, Is.EqualTo(OverlapTypes.None), $"{context}: cluster {c} has types never entered");
            Assert.That(unchecked_[c], Is.True, $"{context}: cluster {c} lost {expected & ~got} without a memory-limit event");
        }
    }
}
