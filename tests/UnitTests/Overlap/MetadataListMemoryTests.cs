using NUnit.Framework;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Overlap;

/// <summary>Memory accounting with the series' nominal sizes, replaying the arithmetic of its five iotest 060 memory-limit cases.</summary>
[TestFixture]
public class MetadataListMemoryTests
{
    private const long W = MetadataList.WindowClusters;
    private const long K64 = 65536;

    [Test]
    public void Zero_limit_cannot_allocate_the_list()
    {
        var e = Assert.Throws<ImageOpenException>(() =>
            MetadataList.Create(16, 4 * K64, 65536, 0, OverlapTemplates.Cached, null))!;
        Assert.That(e.Message, Is.EqualTo("Cannot allocate metadata list"));
        Assert.That(e.Errno, Is.EqualTo(Errno.ENOMEM));
        Assert.Throws<ImageOpenException>(() => MetadataList.Create(16, 0, 65536, 55, OverlapTemplates.Cached, null));
    }

    [Test]
    public void Limits_just_above_the_list_fail_on_windows_then_on_cache_slots()
    {
        Assert.That(Assert.Throws<ImageOpenException>(() => MetadataList.Create(16, 4 * K64, 65536, 56 + 31, OverlapTemplates.Cached, null))!.Message,
            Is.EqualTo("Cannot allocate metadata overlap check windows"));
        Assert.That(Assert.Throws<ImageOpenException>(() => MetadataList.Create(16, 4 * K64, 65536, 56 + 32 + 63, OverlapTemplates.Cached, null))!.Message,
            Is.EqualTo("Cannot allocate metadata overlap cache pointers"));
        Assert.That(MetadataList.Create(16, 4 * K64, 65536, 56 + 32 + 64, OverlapTemplates.Cached, null).MemoryUsage, Is.EqualTo(152));
        Assert.That(MetadataList.Create(16, 0, 0, 56 + 4, OverlapTemplates.Cached, null).MemoryUsage, Is.EqualTo(60), "empty file: no windows, 1 slot");
    }

    /// <summary>Enters what a fresh image has: the header, refcount table and block, and the active L1 table (one cluster each).</summary>
    private static void EnterFreshImageStructures(MetadataList list)
    {
        list.Enter(0, 1, OverlapTypes.MainHeader);
        list.Enter(0x10000, 1, OverlapTypes.RefcountTable);
        list.Enter(0x20000, 1, OverlapTypes.RefcountBlock);
        list.Enter(0x30000, 1, OverlapTypes.ActiveL1);
    }

    [Test]
    public void Limit_256_with_64k_of_cache_holds_the_list_but_each_open_time_enter_raises_one_event()
    {
        // Series 060 "Limit too small for entering metadata": fresh 64M image, 4 clusters; 56 + 32 + 16 * 4 = 152 <= 256.
        var events = new List<(long Start, long Length)>();
        var list = MetadataList.Create(16, 4 * K64, 65536, 256, OverlapTemplates.Cached, (s, l) => events.Add((s, l)));
        Assert.That(list.MemoryUsage, Is.EqualTo(152));
        EnterFreshImageStructures(list);
        Assert.That(events, Is.EqualTo(Enumerable.Repeat((0L, 268435456L), 4)));
        Assert.That(list.MemoryUsage, Is.EqualTo(152));
        Assert.That(list.CachedWindowCount, Is.EqualTo(0), "failed loads leave no slot taken (fixed quirk)");
        Assert.That(list.FindOverlaps(OverlapTypes.None, 0x30000, 512), Is.EqualTo(OverlapTypes.None));
        Assert.That(events, Has.Count.EqualTo(5));
    }

    [Test]
    public void Limit_4188_holds_one_map_and_a_check_beyond_the_window_array_is_free()
    {
        // Series 060 "Limit too small for both bitmap and fragment list": 6 clusters after "write 0 64k", one cache slot,
        // 56 + 32 + 4 + 4096 = 4188. L2 entry 1 points at 256 MiB, beyond the only window.
        var events = new List<(long, long)>();
        var list = MetadataList.Create(16, 6 * K64, 4096, 4188, OverlapTemplates.Cached, (s, l) => events.Add((s, l)));
        Assert.That(list.MemoryUsage, Is.EqualTo(92));
        EnterFreshImageStructures(list);
        list.Enter(0x40000, 1, OverlapTypes.ActiveL2);
        Assert.That(list.MemoryUsage, Is.EqualTo(4188));
        Assert.That(list.FindOverlaps(OverlapTypes.None, 256L << 20, K64), Is.EqualTo(OverlapTypes.None));
        Assert.That(list.FindOverlaps(OverlapTypes.None, 0x50000, K64), Is.EqualTo(OverlapTypes.None));
        Assert.That(list.FindOverlaps(OverlapTypes.None, 0x40000, K64), Is.EqualTo(OverlapTypes.ActiveL2));
        Assert.That(events, Is.Empty);
        Assert.That(list.MemoryUsage, Is.EqualTo(4188));
    }

    [Test]
    public void Limit_4220_fragment_list_larger_than_map_keeps_the_map_and_reports_window_1()
    {
        // Series 060 "Fragment list is larger than bitmap": 512-byte clusters, 1024 writes 32k apart allocate an L2 table
        // and a data cluster each, so window 0 alternates; L2 entry 0 was poked to host 2 MiB (window 1).
        // 56 + 2 * 32 + 1 * 4 + 4096 = 4220.
        var events = new List<(long Start, long Length)>();
        long fileLength = (W + 1) * 512;
        var list = MetadataList.Create(9, fileLength, 4096, 4220, OverlapTemplates.Cached, (s, l) => events.Add((s, l)));
        Assert.That(list.MemoryUsage, Is.EqualTo(124));
        foreach (var (cluster, type) in Image060Layout())
        {
            list.Enter(cluster * 512, 1, type);
        }

        Assert.That(list.MemoryUsage, Is.EqualTo(4220));
        Assert.That(events, Is.Empty);

        // "write 0 512": the data cluster at 2 MiB needs window 1; window 0 is evicted, its fragment list would be larger
        // than its map, so it keeps the map and no memory is left for window 1.
        Assert.That(list.FindOverlaps(OverlapTypes.None, 2097152, 512), Is.EqualTo(OverlapTypes.None));
        Assert.That(events, Is.EqualTo(new[] { (2097152L, 2097152L) }));
        var w0 = list.InspectWindow(0)!.Value;
        Assert.That(w0.HasMap && !w0.InCache, Is.True);
        Assert.That(list.MemoryUsage, Is.EqualTo(4220));

        // "write 512 512": L2 entry 1 points at the first L2 table (0x4600 = 17920), still protected by the kept map.
        var hit = list.FindOverlaps(OverlapTypes.None, 17920, 512);
        Assert.That(OverlapTypeInfo.LowestName(hit), Is.EqualTo("active L2 table"));
        Assert.That(events, Has.Count.EqualTo(1));
    }

    /// <summary>The metadata of the 060 image: header, reftable, refblocks every 256 clusters, 32-cluster L1, then L2/data pairs.</summary>
    private static IEnumerable<(long Cluster, OverlapTypes Type)> Image060Layout()
    {
        yield return (0, OverlapTypes.MainHeader);
        yield return (1, OverlapTypes.RefcountTable);
        yield return (2, OverlapTypes.RefcountBlock);
        for (long c = 3; c < 35; c++)
        {
            yield return (c, OverlapTypes.ActiveL1);
        }

        long next = 35;
        for (int i = 0; i < 1024; i++)
        {
            if (next % 256 == 0)
            {
                yield return (next++, OverlapTypes.RefcountBlock);
            }

            yield return (next, OverlapTypes.ActiveL2);
            next += 2; // the data cluster follows its L2 table
        }
    }

    [Test]
    public void Window_growth_refused_reports_exactly_the_unentered_clusters()
    {
        // Room for the list, one slot, one window and one map: entering into window 0 works, growing to window 1 does not.
        // The series would report [window 1 start, + 2W clusters), missing the last 10 clusters of the request.
        var events = new List<(long Start, long Length)>();
        var list = MetadataList.Create(9, 0, 4096, 56 + 4 + 32 + 4096 + 31, OverlapTemplates.All, (s, l) => events.Add((s, l)));
        list.Enter(0, 1, OverlapTypes.ActiveL1);
        Assert.That(list.WindowCount, Is.EqualTo(1));
        list.Enter((W + 10) * 512, 2 * W, OverlapTypes.ActiveL2); // window 1 needs 32 bytes, 31 left
        Assert.That(events, Is.EqualTo(new[] { ((W + 10) * 512, 2 * W * 512) }), "starts at the first cluster not entered");
        Assert.That(list.WindowCount, Is.EqualTo(1));
        Assert.That(list.MemoryUsage, Is.EqualTo(list.ComputeNominalUsage()));
    }

    [Test]
    public void Refused_remove_drops_the_whole_fragment_list_of_the_window()
    {
        // Room for one map plus window 0's two fragments (8 bytes).
        var events = new List<(long Start, long Length)>();
        var list = MetadataList.Create(9, 2 * W * 512, 4096, 56 + 64 + 4 + 4096 + 8, OverlapTemplates.All, (s, l) => events.Add((s, l)));
        list.Enter(0, 1, OverlapTypes.ActiveL1);
        list.Enter(512 * 7, 1, OverlapTypes.ActiveL2);

        // Window 1 gets 710 runs; loading it evicted window 0 into 2 fragments.
        for (long i = 0; i < 710; i++)
        {
            list.Enter((W + 2 * i) * 512, 1, OverlapTypes.RefcountBlock);
        }

        Assert.That(list.InspectWindow(0)!.Value.FragmentCount, Is.EqualTo(2));
        Assert.That(events, Is.Empty);

        // Removing from window 0 evicts window 1, which keeps its map (abandoned), so window 0 cannot load: its list is dropped.
        list.Remove(512 * 7, 1, OverlapTypes.ActiveL2);
        Assert.That(events, Is.EqualTo(new[] { (0L, W * 512) }));
        Assert.That(list.InspectWindow(0)!.Value.FragmentCapacity, Is.EqualTo(0));
        Assert.That(list.InspectWindow(1)!.Value.HasMap, Is.True);
        Assert.That(list.MemoryUsage, Is.EqualTo(list.ComputeNominalUsage()));
        Assert.That(list.MemoryUsage, Is.EqualTo(56 + 64 + 4 + 4096));

        // Window 1's kept map still answers; window 0 reports nothing and another event.
        Assert.That(list.FindOverlaps(OverlapTypes.None, (W + 4) * 512, 512), Is.EqualTo(OverlapTypes.RefcountBlock));
        Assert.That(list.FindOverlaps(OverlapTypes.None, 0, 512), Is.EqualTo(OverlapTypes.None));
        Assert.That(events, Has.Count.EqualTo(2));
    }
}
