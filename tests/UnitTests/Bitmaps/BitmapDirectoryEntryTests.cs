using Qcow2.Format;

namespace Qcow2.UnitTests.Bitmaps;

/// <summary>The bitmap directory entry and bitmap table entry structures.</summary>
[TestFixture]
public sealed class BitmapDirectoryEntryTests
{
    /// <summary>The entry qemu-img bitmap --add writes for "bm0" (64 KiB granularity, table of one entry at 0x60000).</summary>
    private static readonly byte[] Bm0 =
    [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, // bitmap_table_offset 0x60000
        0x00, 0x00, 0x00, 0x01,                         // bitmap_table_size 1
        0x00, 0x00, 0x00, 0x02,                         // flags: auto
        0x01,                                           // type: dirty tracking
        0x10,                                           // granularity_bits 16
        0x00, 0x03,                                     // name_size 3
        0x00, 0x00, 0x00, 0x00,                         // extra_data_size 0
        (byte)'b', (byte)'m', (byte)'0',                // name
        0x00, 0x00, 0x00, 0x00, 0x00,                   // padding to 8 bytes
    ];

    [Test]
    public void Fixed_part_reads_every_field()
    {
        var e = BitmapDirectoryEntry.ReadFixed(Bm0, out int nameSize);
        Assert.Multiple(() =>
        {
            Assert.That(e.TableOffset, Is.EqualTo(0x60000));
            Assert.That(e.TableSize, Is.EqualTo(1u));
            Assert.That(e.Flags, Is.EqualTo(BitmapDirectoryEntry.FlagAuto));
            Assert.That(e.Type, Is.EqualTo(BitmapDirectoryEntry.TypeDirtyTracking));
            Assert.That(e.GranularityBits, Is.EqualTo(16));
            Assert.That(nameSize, Is.EqualTo(3));
            Assert.That(e.ExtraDataSize, Is.EqualTo(0u));
        });
    }

    [Test]
    public void Write_produces_the_bytes_qemu_writes()
    {
        var e = BitmapDirectoryEntry.ReadFixed(Bm0, out int nameSize);
        e.RawName = Bm0.AsSpan(BitmapDirectoryEntry.FixedSize, nameSize).ToArray();
        var buf = Enumerable.Repeat((byte)0xff, 64).ToArray();
        int n = e.WriteTo(buf);
        Assert.That(n, Is.EqualTo(Bm0.Length));
        Assert.That(buf[..n], Is.EqualTo(Bm0));
        Assert.That(e.Name, Is.EqualTo("bm0"));
    }

    [TestCase(0, 24)]
    [TestCase(1, 32)]
    [TestCase(8, 32)]
    [TestCase(9, 40)]
    [TestCase(1023, 1048)]
    public void Entry_size_is_rounded_up_to_8_bytes(int nameSize, int expected) =>
        Assert.That(BitmapDirectoryEntry.EntrySize(nameSize, 0), Is.EqualTo(expected));

    [Test]
    public void Name_stops_at_a_nul_as_qemu_copies_it()
    {
        var e = new BitmapDirectoryEntry { RawName = [(byte)'a', 0, (byte)'b'] };
        Assert.That(e.Name, Is.EqualTo("a"));
    }

    [TestCase(0x0UL, true)]
    [TestCase(0x1UL, true)]
    [TestCase(0x10000UL, true)]
    [TestCase(0x10001UL, false)]
    [TestCase(0x10200UL, false)]
    [TestCase(0x2UL, false)]
    [TestCase(0x0100000000000000UL, false)]
    public void Table_entries_are_checked_as_check_table_entry(ulong raw, bool valid) =>
        Assert.That(new BitmapTableEntry(raw).IsValid(65536), Is.EqualTo(valid));
}
