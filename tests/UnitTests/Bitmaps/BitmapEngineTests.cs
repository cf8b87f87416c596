using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.UnitTests.Engine;

namespace Qcow2.UnitTests.Bitmaps;

/// <summary>The engine's bitmap support without QEMU: flags on disk, errors, and the metadata list after the directory moves.</summary>
[TestFixture]
public sealed class BitmapEngineTests
{
    [Test]
    public void Read_write_open_marks_bitmaps_in_use_and_close_clears_it()
    {
        var storage = EngineFixture.NewImage(64L << 20);
        using (var img = EngineFixture.Open(storage))
        {
            img.AddPersistentBitmap("b0", null);
            Assert.That(img.GetBitmapInfo(), Is.Empty, "a new bitmap reaches the image only at close");
        }
        using (var img = EngineFixture.Open(storage))
        {
            var info = img.GetBitmapInfo().Single();
            Assert.That(info.Name, Is.EqualTo("b0"));
            Assert.That(info.Flags, Is.EqualTo(new[] { "in-use", "auto" }));
            Assert.That(info.Granularity, Is.EqualTo(65536));
        }
        var readOnly = new Block.OpenOptions { Format = "qcow2", ReadOnly = true };
        using (var img = Qcow2Image.Open(storage, "t.qcow2", readOnly))
        {
            Assert.That(img.GetBitmapInfo().Single().Flags, Is.EqualTo(new[] { "auto" }), "the store at close clears in_use");
        }
    }

    [Test]
    public void Loaded_bitmaps_list_the_newest_first_with_their_state()
    {
        var storage = EngineFixture.NewImage(64L << 20);
        using (var img = EngineFixture.Open(storage))
        {
            img.AddPersistentBitmap("first", null);
            img.AddPersistentBitmap("second", 512);
            img.SetBitmapEnabled("second", false);
            Assert.That(img.LoadedBitmaps.Select(b => b.Name), Is.EqualTo(new[] { "second", "first" }));
        }
        using (var img = EngineFixture.Open(storage))
        {
            // The store appended new bitmaps in that order; loading inserts each directory entry at the head.
            Assert.That(img.GetBitmapInfo().Select(b => b.Name), Is.EqualTo(new[] { "second", "first" }));
            var loaded = img.LoadedBitmaps;
            Assert.That(loaded.Select(b => b.Name), Is.EqualTo(new[] { "first", "second" }));
            Assert.That(loaded[0].Flags, Is.EqualTo(new[] { "auto" }));
            Assert.That(loaded[1].Flags, Is.Empty);
            Assert.That(loaded[1].Granularity, Is.EqualTo(512));
        }
    }

    [Test]
    public void Operations_on_a_missing_bitmap_fail_with_qemus_message()
    {
        using var img = EngineFixture.Open(EngineFixture.NewImage(64L << 20));
        var e = Assert.Throws<BitmapOperationException>(() => img.ClearBitmap("nope"))!;
        Assert.That(e.Message, Is.EqualTo("Dirty bitmap 'nope' not found"));
        e = Assert.Throws<BitmapOperationException>(() => img.AddPersistentBitmap("x", 1000))!;
        Assert.That(e.Message, Is.EqualTo("Granularity must be power of 2 and at least 512"));
    }

    [Test]
    public void V2_images_refuse_persistent_bitmaps()
    {
        using var img = EngineFixture.Open(EngineFixture.NewImage(64L << 20, version: 2));
        var e = Assert.Throws<BitmapOperationException>(() => img.AddPersistentBitmap("b0", null))!;
        Assert.That(e.Message, Does.EndWith(": Cannot store dirty bitmaps in qcow2 v2 files"));
    }

    [Test]
    public void Metadata_list_follows_the_directory_when_it_moves()
    {
        var storage = EngineFixture.NewImage(64L << 20);
        using (var img = EngineFixture.Open(storage))
        {
            img.AddPersistentBitmap("b0", null);
            img.AddPersistentBitmap("b1", 4096);
            img.Write(0, new byte[65536]);
        }
        var options = new[] { ("overlap-check", "all") };
        using (var img = EngineFixture.Open(storage, options))
        {
            AssertListAgreesWithScan(img, "after open");
            img.Write(1 << 20, new byte[4096]);
            img.RemoveBitmap("b0");
            AssertListAgreesWithScan(img, "after removing b0 (new directory)");
        }
        using (var img = EngineFixture.Open(storage, options))
        {
            AssertListAgreesWithScan(img, "after the store at close");
            img.RemoveBitmap("b1");
            AssertListAgreesWithScan(img, "after removing the last bitmap (no directory)");
            Assert.That(img.Header.AutoclearFeatures & Features.AutoclearBitmaps, Is.EqualTo(0UL));
        }
    }

    private static void AssertListAgreesWithScan(Qcow2Image img, string where)
    {
        Assert.That(img.MetadataList, Is.Not.Null);
        int cs = img.ClusterSize;
        long clusters = (img.FileLength + cs - 1) / cs;
        var oracle = img.ScanTypeMap(clusters);
        for (long c = 0; c < clusters; c++)
        {
            var got = img.MetadataList!.FindOverlaps(OverlapTypes.None, c * cs, cs);
            Assert.That(got, Is.EqualTo(oracle[c]), $"{where}: cluster {c}");
        }
    }
}
