using System.Buffers.Binary;

namespace Qcow2.UnitTests.Bitmaps;

/// <summary>Damaged bitmap directories and tables: every tool refuses to open the image with QEMU's message.</summary>
[TestFixture]
[Category("Interop")]
public sealed class BitmapDamageTests : BitmapScenario
{
    /// <summary>Directory entry fields, by offset in the entry.</summary>
    private const int TableOffset = 0, TableSize = 8, Type = 16, Granularity = 17, ExtraDataSize = 20;

    private static readonly Dictionary<string, (int Field, byte[] Value)> Damages = new()
    {
        ["type 2"] = (Type, [2]),
        ["granularity 2^8"] = (Granularity, [8]),
        ["extra data"] = (ExtraDataSize, [0, 0, 0, 8]),
        ["table size 0"] = (TableSize, [0, 0, 0, 0]),
        ["table offset unaligned"] = (TableOffset + 6, [0x02, 0x00]),
    };

    private static IEnumerable<string> DamageNames => Damages.Keys;

    [TestCaseSource(nameof(DamageNames))]
    public void Damaged_directory_entries_fail_the_open_as_qemu(string damage)
    {
        string image = MakeBase("create -q -f qcow2 IMG 64M", ["qemu-img", "bitmap", "--add", "IMG", "b0"]);
        var (dir, _) = DirectoryAndL2(image);
        var (field, value) = Damages[damage];
        Poke(image, dir + field, value);
        RunAll(image);
    }

    [Test]
    public void Fewer_entries_than_the_extension_counts_fail_the_open()
    {
        string image = MakeBase("create -q -f qcow2 IMG 64M", ["qemu-img", "bitmap", "--add", "IMG", "b0"]);
        var b = File.ReadAllBytes(image);
        var count = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(count, 2);
        Poke(image, BitmapsExtension(b), count);
        RunAll(image);
    }

    [Test]
    public void An_invalid_bitmap_table_entry_fails_the_open_unless_the_bitmap_is_in_use()
    {
        string image = MakeBase("create -q -f qcow2 IMG 64M", ["qemu-img", "bitmap", "--add", "IMG", "b0"]);
        var (dir, _) = DirectoryAndL2(image);
        var b = File.ReadAllBytes(image);
        long table = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan((int)dir));
        // Entry 0 := reserved bit 1 set.
        Poke(image, table + 7, [0x02]);
        RunAll(image);
        SetInUse(image);
        RunAll(image);
    }

    private void RunAll(string image) =>
        RunBoth(image, Img("info", "IMG"), Img("check", "IMG"), Io("read 0 512"), Io("write 0 512"), Img("info", "IMG"));

    private static void Poke(string image, long offset, byte[] value)
    {
        using var f = File.OpenWrite(image);
        f.Position = offset;
        f.Write(value);
    }
}
