using NUnit.Framework;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Overlap;

[TestFixture]
public class OverlapTypesTests
{
    [Test]
    public void Templates_have_qemus_masks()
    {
        Assert.Multiple(() =>
        {
            Assert.That((int)OverlapTemplates.None, Is.EqualTo(0));
            // QEMU's 0x12B, 0x17F and 0x1FF, each with the crypto header (0x200), whose check costs constant time.
            Assert.That((int)OverlapTemplates.Constant, Is.EqualTo(0x32B));
            Assert.That((int)OverlapTemplates.Cached, Is.EqualTo(0x37F));
            Assert.That((int)OverlapTemplates.All, Is.EqualTo(0x3FF));
            Assert.That(OverlapTemplates.Default, Is.EqualTo(OverlapTemplates.Cached));
        });
    }

    [TestCase("none", 0x000)]
    [TestCase("constant", 0x32B)]
    [TestCase("cached", 0x37F)]
    [TestCase("all", 0x3FF)]
    public void Template_names_parse(string name, int mask)
    {
        Assert.That(OverlapTemplates.TryParse(name, out var m), Is.True);
        Assert.That((int)m, Is.EqualTo(mask));
    }

    [TestCase("ALL")]
    [TestCase("")]
    [TestCase("cache")]
    public void Template_names_are_case_sensitive_and_exact(string name) =>
        Assert.That(OverlapTemplates.TryParse(name, out _), Is.False);

    [Test]
    public void Table_lists_the_ten_types_in_bit_order_with_qemus_names()
    {
        string[] names =
        [
            "qcow2_header", "active L1 table", "active L2 table", "refcount table", "refcount block",
            "snapshot table", "inactive L1 table", "inactive L2 table", "bitmap directory", "crypto header",
        ];
        string[] options =
        [
            "overlap-check.main-header", "overlap-check.active-l1", "overlap-check.active-l2", "overlap-check.refcount-table",
            "overlap-check.refcount-block", "overlap-check.snapshot-table", "overlap-check.inactive-l1",
            "overlap-check.inactive-l2", "overlap-check.bitmap-directory", "overlap-check.crypto-header",
        ];
        Assert.That(OverlapTypeInfo.All, Has.Count.EqualTo(OverlapTypeInfo.Count));
        for (int i = 0; i < OverlapTypeInfo.Count; i++)
        {
            var info = OverlapTypeInfo.All[i];
            Assert.Multiple(() =>
            {
                Assert.That((int)info.Type, Is.EqualTo(1 << i));
                Assert.That(info.BitNumber, Is.EqualTo(i));
                Assert.That(info.Name, Is.EqualTo(names[i]));
                Assert.That(info.OptionName, Is.EqualTo(options[i]));
                Assert.That(info.Help, Does.StartWith("Check for unintended writes into "));
                Assert.That(OverlapTypeInfo.Of(info.Type), Is.SameAs(info));
            });
        }
    }

    [Test]
    public void Bitmap_directory_is_bit_8()
    {
        Assert.That((int)OverlapTypes.BitmapDirectory, Is.EqualTo(0x100));
        Assert.That(OverlapTypeInfo.Of(OverlapTypes.BitmapDirectory).Help,
            Is.EqualTo("Check for unintended writes into the bitmap directory"));
    }

    [Test]
    public void Crypto_header_is_bit_9_in_every_template_but_none_and_last_in_scan_order()
    {
        Assert.Multiple(() =>
        {
            Assert.That((int)OverlapTypes.CryptoHeader, Is.EqualTo(0x200));
            Assert.That(OverlapTypeInfo.Of(OverlapTypes.CryptoHeader).Help,
                Is.EqualTo("Check for unintended writes into the encryption header"));
            Assert.That(OverlapTemplates.None & OverlapTypes.CryptoHeader, Is.EqualTo(OverlapTypes.None));
            Assert.That(OverlapTemplates.Constant & OverlapTypes.CryptoHeader, Is.EqualTo(OverlapTypes.CryptoHeader));
            Assert.That(OverlapTemplates.Cached & OverlapTypes.CryptoHeader, Is.EqualTo(OverlapTypes.CryptoHeader));
            Assert.That(OverlapTemplates.All & OverlapTypes.CryptoHeader, Is.EqualTo(OverlapTypes.CryptoHeader));
            Assert.That(OverlapTypeInfo.ScanOrder[^1], Is.EqualTo(OverlapTypes.CryptoHeader));
            // A write that hits the bitmap directory and the crypto header is reported as upstream's scan would report it.
            Assert.That(OverlapTypeInfo.FirstInScanOrder(OverlapTypes.CryptoHeader | OverlapTypes.BitmapDirectory),
                Is.EqualTo(OverlapTypes.BitmapDirectory));
        });
    }

    [Test]
    public void Lowest_name_picks_the_lowest_set_bit()
    {
        Assert.Multiple(() =>
        {
            Assert.That(OverlapTypeInfo.LowestName(OverlapTypes.InactiveL2 | OverlapTypes.ActiveL2), Is.EqualTo("active L2 table"));
            Assert.That(OverlapTypeInfo.LowestName(OverlapTypes.BitmapDirectory), Is.EqualTo("bitmap directory"));
            Assert.That(OverlapTypeInfo.LowestName(OverlapTemplates.All), Is.EqualTo("qcow2_header"));
            Assert.That(OverlapTypeInfo.Lowest(OverlapTypes.RefcountBlock | OverlapTypes.SnapshotTable), Is.EqualTo(OverlapTypes.RefcountBlock));
            Assert.That(OverlapTypeInfo.Lowest(OverlapTypes.None), Is.EqualTo(OverlapTypes.None));
        });
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlapTypeInfo.LowestName(OverlapTypes.None));
    }

    [Test]
    public void Scan_order_differs_from_bit_order_where_upstream_does()
    {
        // Upstream tests the refcount table before active L2 tables, the series names the lowest bit.
        var both = OverlapTypes.ActiveL2 | OverlapTypes.RefcountTable;
        Assert.That(OverlapTypeInfo.FirstInScanOrder(both), Is.EqualTo(OverlapTypes.RefcountTable));
        Assert.That(OverlapTypeInfo.Lowest(both), Is.EqualTo(OverlapTypes.ActiveL2));
        Assert.That(OverlapTypeInfo.ScanOrder.Aggregate(OverlapTypes.None, (a, t) => a | t), Is.EqualTo(OverlapTemplates.All));
    }

    [Test]
    public void Of_rejects_zero_and_multiple_bits()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlapTypeInfo.Of(OverlapTypes.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlapTypeInfo.Of(OverlapTypes.ActiveL1 | OverlapTypes.ActiveL2));
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlapTypeInfo.Of((OverlapTypes)(1 << OverlapTypeInfo.Count)));
    }
}
