using Qcow2.Overlap;

namespace Qcow2.UnitTests.Engine;

/// <summary>
/// The overlap checker on a real image, for each protected structure: a write just before it, across its start, and just
/// after it; size 0; unaligned offsets; the header rule. The linear scan and the metadata list must answer alike.
/// </summary>
[TestFixture]
public sealed class OverlapCheckerTests
{
    private const int Cs = 65536;

    /// <summary>A 64 MiB image with data, a snapshot and a new active L2 table: every kind of structure but the bitmap directory.</summary>
    private static Storage.MemoryStorage ImageWithEverything()
    {
        var storage = EngineFixture.NewImage(64L << 20);
        using (var img = EngineFixture.Open(storage))
        {
            img.Write(0, new byte[512]);
            img.CreateSnapshot("snap");
            img.Write(0, new byte[512]);
        }
        return storage;
    }

    private static IEnumerable<Qcow2Image> BothCheckers(Storage.MemoryStorage storage)
    {
        yield return EngineFixture.Open(storage, ("overlap-check", "all"), ("overlap-structures.mode", "scan"));
        yield return EngineFixture.Open(storage, ("overlap-check", "all"));
    }

    // Layout after create, write, snapshot, write (as qemu-img and qemu-io lay it out; iotest 060 relies on it).
    private static readonly (OverlapTypes Type, long Offset, long Length)[] Structures =
    [
        (OverlapTypes.RefcountTable, 0x10000, Cs),
        (OverlapTypes.RefcountBlock, 0x20000, Cs),
        (OverlapTypes.ActiveL1, 0x30000, 8),
        (OverlapTypes.InactiveL2, 0x40000, Cs),
        (OverlapTypes.InactiveL1, 0x60000, 8),
        (OverlapTypes.SnapshotTable, 0x70000, Cs),
        (OverlapTypes.ActiveL2, 0x80000, Cs),
    ];

    [Test]
    public void Every_structure_is_found_across_its_start_but_not_just_before_or_after()
    {
        var storage = ImageWithEverything();
        foreach (var img in BothCheckers(storage))
        {
            using (img)
            {
                string how = img.UsesMetadataList ? "list" : "scan";
                foreach (var (type, offset, length) in Structures)
                {
                    long end = offset + (length + Cs - 1) / Cs * Cs;
                    Assert.That(img.FindOverlaps(OverlapTypes.None, offset - 512, 512) & type, Is.EqualTo(OverlapTypes.None), $"{how}: just before {type}");
                    Assert.That(img.FindOverlaps(OverlapTypes.None, offset - 512, 1024) & type, Is.EqualTo(type), $"{how}: across the start of {type}");
                    Assert.That(img.FindOverlaps(OverlapTypes.None, end - 1, 1) & type, Is.EqualTo(type), $"{how}: last byte of {type}'s cluster");
                    Assert.That(img.FindOverlaps(OverlapTypes.None, end, 512) & type, Is.EqualTo(OverlapTypes.None), $"{how}: just after {type}");
                    Assert.That(img.FindOverlaps(type, offset, 512) & type, Is.EqualTo(OverlapTypes.None), $"{how}: {type} ignored");
                }
            }
        }
    }

    [Test]
    public void Size_zero_never_overlaps()
    {
        foreach (var img in BothCheckers(ImageWithEverything()))
        {
            using (img)
            {
                Assert.That(img.FindOverlaps(OverlapTypes.None, 0x30000, 0), Is.EqualTo(OverlapTypes.None));
                Assert.That(img.FindOverlaps(OverlapTypes.None, 0, 0), Is.EqualTo(OverlapTypes.None));
            }
        }
    }

    [Test]
    public void Unaligned_ranges_are_widened_to_whole_clusters()
    {
        foreach (var img in BothCheckers(ImageWithEverything()))
        {
            using (img)
            {
                // Bytes 0x3fff0..0x40010 touch the L1 cluster (0x30000, 8 bytes used) and the inactive L2 cluster.
                var hits = img.FindOverlaps(OverlapTypes.None, 0x3fff0, 0x20);
                Assert.That(hits, Is.EqualTo(OverlapTypes.ActiveL1 | OverlapTypes.InactiveL2));
            }
        }
    }

    [Test]
    public void The_header_is_any_offset_below_one_cluster()
    {
        foreach (var img in BothCheckers(ImageWithEverything()))
        {
            using (img)
            {
                Assert.That(img.FindOverlaps(OverlapTypes.None, Cs - 1, 1), Is.EqualTo(OverlapTypes.MainHeader));
                Assert.That(img.FindOverlaps(OverlapTypes.None, 0, Cs), Is.EqualTo(OverlapTypes.MainHeader));
                Assert.That(img.FindOverlaps(OverlapTypes.MainHeader, 0, 512), Is.EqualTo(OverlapTypes.None));
            }
        }
    }

    [TestCase("none", OverlapTypes.None)]
    [TestCase("constant", OverlapTypes.MainHeader | OverlapTypes.ActiveL1 | OverlapTypes.RefcountTable | OverlapTypes.SnapshotTable)]
    [TestCase("cached", OverlapTypes.MainHeader | OverlapTypes.ActiveL1 | OverlapTypes.RefcountTable | OverlapTypes.SnapshotTable
        | OverlapTypes.ActiveL2 | OverlapTypes.RefcountBlock | OverlapTypes.InactiveL1)]
    [TestCase("all", OverlapTypes.MainHeader | OverlapTypes.ActiveL1 | OverlapTypes.RefcountTable | OverlapTypes.SnapshotTable
        | OverlapTypes.ActiveL2 | OverlapTypes.RefcountBlock | OverlapTypes.InactiveL1 | OverlapTypes.InactiveL2)]
    public void Templates_decide_what_is_checked(string template, OverlapTypes expected)
    {
        var storage = ImageWithEverything();
        foreach (var mode in new[] { "scan", "list" })
        {
            using var img = EngineFixture.Open(storage, ("overlap-check", template), ("overlap-structures.mode", mode));
            var seen = OverlapTypes.None;
            for (long at = 0; at < 0xa0000; at += Cs)
            {
                seen |= img.FindOverlaps(OverlapTypes.None, at, Cs);
            }
            Assert.That(seen, Is.EqualTo(expected), $"{template} with the {mode}");
        }
    }
}
