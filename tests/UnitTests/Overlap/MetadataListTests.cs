using NUnit.Framework;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Overlap;

/// <summary>Enter, remove and check semantics of the series' metadata list, and its window cache.</summary>
[TestFixture]
public class MetadataListTests
{
    private const int Bits512 = 9;
    private const int Bits64K = 16;
    private const long W = MetadataList.WindowClusters;

    private static MetadataList NewList(int bits = Bits512, long fileLength = 0, long mapCacheSize = 65536,
        OverlapTypes enabled = OverlapTemplates.All, long? limit = null, List<(long, long)>? events = null) =>
        MetadataList.Create(bits, fileLength, mapCacheSize, limit, enabled, events == null ? null : (s, l) => events.Add((s, l)));

    private static OverlapTypes At(MetadataList list, long cluster) =>
        list.FindOverlaps(OverlapTypes.None, cluster << list.ClusterBits, 1L << list.ClusterBits);

    [Test]
    public void Enter_marks_exactly_its_clusters_across_a_window_boundary()
    {
        var list = NewList();
        list.Enter((W - 6) << Bits512, 10, OverlapTypes.ActiveL2);
        Assert.Multiple(() =>
        {
            Assert.That(list.WindowCount, Is.EqualTo(2));
            Assert.That(At(list, W - 7), Is.EqualTo(OverlapTypes.None));
            Assert.That(At(list, W - 6), Is.EqualTo(OverlapTypes.ActiveL2));
            Assert.That(At(list, W - 1), Is.EqualTo(OverlapTypes.ActiveL2));
            Assert.That(At(list, W), Is.EqualTo(OverlapTypes.ActiveL2));
            Assert.That(At(list, W + 3), Is.EqualTo(OverlapTypes.ActiveL2));
            Assert.That(At(list, W + 4), Is.EqualTo(OverlapTypes.None));
        });
    }

    [Test]
    public void Check_returns_the_or_of_all_types_minus_ignored()
    {
        var list = NewList(Bits64K);
        list.Enter(0x30000, 1, OverlapTypes.ActiveL1);
        list.Enter(0x40000, 1, OverlapTypes.ActiveL2);
        list.Enter(0x40000, 1, OverlapTypes.InactiveL2);
        Assert.Multiple(() =>
        {
            Assert.That(list.FindOverlaps(OverlapTypes.None, 0x30000, 0x20000),
                Is.EqualTo(OverlapTypes.ActiveL1 | OverlapTypes.ActiveL2 | OverlapTypes.InactiveL2));
            Assert.That(list.FindOverlaps(OverlapTypes.ActiveL2, 0x40000, 0x10000), Is.EqualTo(OverlapTypes.InactiveL2));
            Assert.That(list.FindOverlaps(OverlapTypes.None, 0x3FFFF, 2), Is.EqualTo(OverlapTypes.ActiveL1 | OverlapTypes.ActiveL2 | OverlapTypes.InactiveL2));
            Assert.That(list.FindOverlaps(OverlapTypes.None, 0x2FFFF, 1), Is.EqualTo(OverlapTypes.None));
            Assert.That(list.FindOverlaps(OverlapTypes.None, 0x50000, 0x10000), Is.EqualTo(OverlapTypes.None));
            Assert.That(OverlapTypeInfo.LowestName(list.FindOverlaps(OverlapTypes.None, 0x40000, 512)), Is.EqualTo("active L2 table"));
        });
    }

    [Test]
    public void Check_with_size_zero_follows_the_series_and_the_adapter_follows_upstream()
    {
        var list = NewList(Bits64K);
        list.Enter(0x40000, 1, OverlapTypes.ActiveL2);
        var checker = new MetadataListChecker(list);
        Assert.Multiple(() =>
        {
            Assert.That(list.FindOverlaps(OverlapTypes.None, 0x40000, 0), Is.EqualTo(OverlapTypes.None), "aligned: no cluster");
            Assert.That(list.FindOverlaps(OverlapTypes.None, 0x40200, 0), Is.EqualTo(OverlapTypes.ActiveL2), "unaligned: one cluster");
            Assert.That(checker.FindOverlaps(OverlapTypes.None, 0x40200, 0), Is.EqualTo(OverlapTypes.None));
            Assert.That(checker.FindOverlaps(OverlapTypes.None, 0x40200, 1), Is.EqualTo(OverlapTypes.ActiveL2));
        });
    }

    [Test]
    public void Adapter_applies_the_header_rule_only_when_enabled_and_not_ignored()
    {
        var list = NewList(Bits64K, enabled: OverlapTemplates.Cached);
        var checker = new MetadataListChecker(list);
        Assert.Multiple(() =>
        {
            Assert.That(list.FindOverlaps(OverlapTypes.None, 512, 512), Is.EqualTo(OverlapTypes.None), "nothing entered");
            Assert.That(checker.FindOverlaps(OverlapTypes.None, 512, 512), Is.EqualTo(OverlapTypes.MainHeader));
            Assert.That(checker.FindOverlaps(OverlapTypes.MainHeader, 0, 512), Is.EqualTo(OverlapTypes.None));
            Assert.That(checker.FindOverlaps(OverlapTypes.None, 0x10000, 512), Is.EqualTo(OverlapTypes.None));
        });
        var noHeader = new MetadataListChecker(NewList(Bits64K, enabled: OverlapTypes.ActiveL1));
        Assert.That(noHeader.FindOverlaps(OverlapTypes.None, 0, 512), Is.EqualTo(OverlapTypes.None));
    }

    [Test]
    public void Unaligned_enter_is_ignored()
    {
        var list = NewList(Bits64K);
        list.Enter(0x40200, 1, OverlapTypes.ActiveL2);
        Assert.That(list.FindOverlaps(OverlapTypes.None, 0, 0x100000), Is.EqualTo(OverlapTypes.None));
        Assert.That(list.WindowCount, Is.EqualTo(0));
    }

    [Test]
    public void Unaligned_remove_is_widened_by_one_cluster()
    {
        var list = NewList(Bits64K);
        list.Enter(0, 4, OverlapTypes.RefcountBlock);
        list.Remove(0x10000 + 512, 1, OverlapTypes.RefcountBlock);
        Assert.Multiple(() =>
        {
            Assert.That(At(list, 0), Is.EqualTo(OverlapTypes.RefcountBlock));
            Assert.That(At(list, 1), Is.EqualTo(OverlapTypes.None));
            Assert.That(At(list, 2), Is.EqualTo(OverlapTypes.None));
            Assert.That(At(list, 3), Is.EqualTo(OverlapTypes.RefcountBlock));
        });
        list.Remove(3 << Bits64K | 1, 0, OverlapTypes.RefcountBlock);
        Assert.That(At(list, 3), Is.EqualTo(OverlapTypes.None), "size 0 unaligned still removes one cluster");
    }

    [Test]
    public void Remove_clears_only_the_given_types()
    {
        var list = NewList();
        list.Enter(0, 3, OverlapTypes.ActiveL2 | OverlapTypes.InactiveL2);
        list.Remove(512, 1, OverlapTypes.ActiveL2);
        Assert.That(At(list, 1), Is.EqualTo(OverlapTypes.InactiveL2));
        Assert.That(At(list, 0), Is.EqualTo(OverlapTypes.ActiveL2 | OverlapTypes.InactiveL2));
    }

    [Test]
    public void Disabled_types_are_neither_entered_nor_removed()
    {
        var list = NewList(enabled: OverlapTemplates.Cached);
        list.Enter(0, 1, OverlapTypes.InactiveL2 | OverlapTypes.ActiveL2);
        Assert.That(At(list, 0), Is.EqualTo(OverlapTypes.ActiveL2));
        list.Enter(512, 1, OverlapTypes.InactiveL2);
        Assert.That(list.WindowCount, Is.EqualTo(1), "nothing enabled: returns before touching windows");
    }

    [Test]
    public void Window_array_grows_on_enter_but_not_on_check_or_remove()
    {
        var list = NewList(Bits512, fileLength: (2 * W << Bits512) + 1);
        Assert.That(list.WindowCount, Is.EqualTo(3), "ceil(file length / window bytes)");
        long before = list.MemoryUsage;
        list.FindOverlaps(OverlapTypes.None, 10 * W << Bits512, 512);
        list.Remove(10 * W << Bits512, 1, OverlapTypes.ActiveL1);
        Assert.That(list.WindowCount, Is.EqualTo(3));
        list.Enter(5 * W << Bits512, 1, OverlapTypes.ActiveL1);
        Assert.That(list.WindowCount, Is.EqualTo(6));
        Assert.That(list.MemoryUsage - before, Is.EqualTo(3 * MetadataList.WindowBytes + MetadataList.MapBytes));
    }

    [Test]
    public void Remove_stops_at_the_end_of_the_window_array()
    {
        var list = NewList();
        list.Enter(0, 1, OverlapTypes.ActiveL1);
        list.Remove(0, 3 * W, OverlapTypes.ActiveL1);
        Assert.That(At(list, 0), Is.EqualTo(OverlapTypes.None));
        Assert.That(list.WindowCount, Is.EqualTo(1));
    }

    [Test]
    public void One_slot_cache_evicts_to_a_fragment_list_and_reloads_it()
    {
        var list = NewList(mapCacheSize: 4096);
        Assert.That(list.CacheSlots, Is.EqualTo(1));
        list.Enter(10 << Bits512, 300, OverlapTypes.RefcountBlock);
        list.Enter(400 << Bits512, 1, OverlapTypes.ActiveL2);
        list.Enter(W << Bits512, 1, OverlapTypes.ActiveL1);

        var w0 = list.InspectWindow(0)!.Value;
        Assert.Multiple(() =>
        {
            Assert.That(w0.HasMap, Is.False);
            Assert.That(w0.InCache, Is.False);
            Assert.That(list.InspectFragments(0), Is.EqualTo(new[]
            {
                (10, 256, OverlapTypes.RefcountBlock), (266, 44, OverlapTypes.RefcountBlock), (400, 1, OverlapTypes.ActiveL2),
            }));
            Assert.That(list.InspectWindow(1)!.Value.InCache, Is.True);
            Assert.That(list.CachedWindowCount, Is.EqualTo(1));
        });

        Assert.That(At(list, 309), Is.EqualTo(OverlapTypes.RefcountBlock));
        Assert.That(At(list, 310), Is.EqualTo(OverlapTypes.None));
        Assert.That(list.InspectWindow(0)!.Value.InCache, Is.True);
        Assert.That(list.InspectWindow(1)!.Value.HasMap, Is.False);
        Assert.That(At(list, W), Is.EqualTo(OverlapTypes.ActiveL1));
    }

    [Test]
    public void Eviction_picks_the_least_recently_used_window_and_checks_count_as_use()
    {
        var list = NewList(mapCacheSize: 2 * 4096);
        list.Enter(0, 1, OverlapTypes.ActiveL1);
        list.Enter(W << Bits512, 1, OverlapTypes.ActiveL2);
        At(list, 0); // window 0 is now more recent than window 1
        list.Enter(2 * W << Bits512, 1, OverlapTypes.RefcountBlock);
        Assert.Multiple(() =>
        {
            Assert.That(list.InspectWindow(0)!.Value.InCache, Is.True);
            Assert.That(list.InspectWindow(1)!.Value.InCache, Is.False);
            Assert.That(list.InspectWindow(2)!.Value.InCache, Is.True);
        });
    }

    [Test]
    public void Unmodified_window_is_evicted_without_regenerating()
    {
        var list = NewList(mapCacheSize: 4096);
        list.Enter(0, 1, OverlapTypes.ActiveL1);
        list.Enter(W << Bits512, 1, OverlapTypes.ActiveL1); // evicts 0 (regenerated: 1 fragment)
        At(list, 0); // loads 0 unmodified, evicts 1
        At(list, W); // evicts 0 again, no regeneration needed
        var w0 = list.InspectWindow(0)!.Value;
        Assert.That(w0.MapModified, Is.False);
        Assert.That(list.InspectFragments(0), Is.EqualTo(new[] { (0, 1, OverlapTypes.ActiveL1) }));
        Assert.That(list.MemoryUsage, Is.EqualTo(list.ComputeNominalUsage()));
    }

    /// <summary>Enters <paramref name="runs"/> single-cluster runs into window 0 (every other cluster), then evicts it.</summary>
    private static MetadataList WindowWithRuns(int runs)
    {
        var list = NewList(mapCacheSize: 4096);
        for (int i = 0; i < runs; i++)
        {
            list.Enter(2L * i << Bits512, 1, OverlapTypes.ActiveL2);
        }

        list.Enter(W << Bits512, 1, OverlapTypes.ActiveL1); // loading window 1 evicts window 0
        return list;
    }

    [TestCase(1, 1)]
    [TestCase(5, 7)]
    [TestCase(12, 17)]
    [TestCase(709, 709)]
    public void Fragment_array_grows_by_half_plus_one(int runs, int capacity)
    {
        var list = WindowWithRuns(runs);
        var w0 = list.InspectWindow(0)!.Value;
        Assert.That(w0.HasMap, Is.False);
        Assert.That(w0.FragmentCount, Is.EqualTo(runs));
        Assert.That(w0.FragmentCapacity, Is.EqualTo(capacity));
        Assert.That(list.MemoryUsage, Is.EqualTo(list.ComputeNominalUsage()));
    }

    [Test]
    public void Fragment_generation_is_abandoned_at_the_1064_entry_array_and_the_window_keeps_its_map()
    {
        var list = WindowWithRuns(710); // 710 runs need growth 709 -> 1064, and 1064 * 4 >= 4096
        var w0 = list.InspectWindow(0)!.Value;
        Assert.Multiple(() =>
        {
            Assert.That(w0.HasMap, Is.True);
            Assert.That(w0.InCache, Is.False);
            Assert.That(w0.FragmentCount, Is.EqualTo(0));
            Assert.That(w0.FragmentCapacity, Is.EqualTo(0));
            Assert.That(list.MemoryUsage, Is.EqualTo(list.ComputeNominalUsage()));
            Assert.That(list.MemoryUsage, Is.EqualTo(56 + 2 * 32 + 4 + 2 * 4096));
        });

        // The kept map still protects, is used without taking a slot, and is never evicted again.
        Assert.That(At(list, 2 * 709), Is.EqualTo(OverlapTypes.ActiveL2));
        Assert.That(At(list, 2 * 709 + 1), Is.EqualTo(OverlapTypes.None));
        list.Enter(2 * W << Bits512, 1, OverlapTypes.ActiveL1);
        Assert.That(list.InspectWindow(0)!.Value.HasMap, Is.True);
        Assert.That(list.InspectWindow(2)!.Value.InCache, Is.True);
    }

    [Test]
    public void Abandon_threshold_depends_on_the_arrays_history_as_in_the_series()
    {
        // 400 runs: capacity 472. Down to 100 runs: the remove moves on to window 1, which evicts window 0 and
        // regenerates it with 100 runs, fewer than half the capacity, so the array is shrunk to exactly 100.
        var list = WindowWithRuns(400);
        Assert.That(list.InspectWindow(0)!.Value.FragmentCapacity, Is.EqualTo(472));
        list.Remove(200 << Bits512, 2 * W, OverlapTypes.ActiveL2);
        var w0 = list.InspectWindow(0)!.Value;
        Assert.That(w0.FragmentCount, Is.EqualTo(100));
        Assert.That(w0.FragmentCapacity, Is.EqualTo(100));
        Assert.That(list.MemoryUsage, Is.EqualTo(list.ComputeNominalUsage()), "shrink path accounts bytes");

        // From capacity 100 the growth is 151, 227, 341, 512, 769, so 769 runs still fit (fresh arrays stop at 709).
        for (int i = 100; i < 769; i++)
        {
            list.Enter(2L * i << Bits512, 1, OverlapTypes.ActiveL2);
        }

        At(list, W);
        w0 = list.InspectWindow(0)!.Value;
        Assert.That(w0.HasMap, Is.False);
        Assert.That(w0.FragmentCount, Is.EqualTo(769));
        Assert.That(w0.FragmentCapacity, Is.EqualTo(769));
    }

    [Test]
    public void Runs_longer_than_256_clusters_are_split_and_type_changes_start_new_fragments()
    {
        var list = NewList(mapCacheSize: 4096);
        list.Enter(0, W, OverlapTypes.RefcountBlock);
        list.Enter(1000 << Bits512, 2, OverlapTypes.ActiveL2);
        list.Enter(W << Bits512, 1, OverlapTypes.ActiveL1);
        var f = list.InspectFragments(0);
        Assert.That(f.Sum(x => x.Clusters), Is.EqualTo(W));
        Assert.That(f.Max(x => x.Clusters), Is.EqualTo(256));
        Assert.That(f, Does.Contain((1000, 2, OverlapTypes.RefcountBlock | OverlapTypes.ActiveL2)));
        Assert.That(f.Count, Is.EqualTo(18)); // 1000 = 3*256+232 -> 4, then 1 of 2, then 3094 = 12*256+22 -> 13
    }

    [Test]
    public void All_nine_types_survive_a_round_trip_through_the_fragment_list()
    {
        var list = NewList(mapCacheSize: 4096);
        list.Enter(5 << Bits512, 1, OverlapTemplates.All);
        list.Enter(W << Bits512, 1, OverlapTypes.ActiveL1);
        Assert.That(list.InspectFragments(0), Is.EqualTo(new[] { (5, 1, OverlapTemplates.All) }));
        Assert.That(At(list, 5), Is.EqualTo(OverlapTemplates.All));
    }

    [Test]
    public void Arguments_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MetadataList.Create(8, 0, 0, null, OverlapTemplates.All, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => MetadataList.Create(22, 0, 0, null, OverlapTemplates.All, null));
        var list = NewList();
        Assert.Throws<ArgumentOutOfRangeException>(() => list.Enter(-512, 1, OverlapTypes.ActiveL1));
        Assert.Throws<ArgumentOutOfRangeException>(() => list.FindOverlaps(OverlapTypes.None, 0, -1));
    }
}
