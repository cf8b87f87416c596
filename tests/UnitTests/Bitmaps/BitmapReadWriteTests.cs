using System.Buffers.Binary;

namespace Qcow2.UnitTests.Bitmaps;

/// <summary>
/// Read-write opens of images with bitmaps through qio against qemu-io 7.2: bitmaps marked in use at open, written
/// dirty by guest writes, stored at close into new clusters (byte-identical files), in-use bitmaps left alone, and
/// the bitmap directory still protected by the overlap checks after it moved.
/// </summary>
[TestFixture]
[Category("Interop")]
public sealed class BitmapReadWriteTests : BitmapScenario
{
    private string BaseWithBitmap() => MakeBase("create -q -f qcow2 IMG 64M",
        ["qemu-io", "-c", "write -P 7 0 64k", "IMG"],
        ["qemu-img", "bitmap", "--add", "IMG", "b0"],
        ["qemu-img", "bitmap", "--add", "--disable", "IMG", "off"]);

    [Test]
    public void A_write_dirties_enabled_bitmaps_and_close_stores_them_as_qemu_io()
    {
        RunBoth(BaseWithBitmap(),
            Io("write 0 64k"),
            Img("info", "IMG"),
            Io("write -P 1 1M 3M", "write -z 20M 64k", "discard 40M 128k", "write -c 50M 64k"),
            Img("info", "--output=json", "IMG"),
            Img("check", "IMG"));
    }

    [Test]
    public void Read_only_opens_change_nothing()
    {
        RunBoth(BaseWithBitmap(),
            new Step("io", "-r", "-c", "read 0 64k", "IMG"),
            new Step("io", "-r", "-c", "write 0 64k", "IMG"),
            Img("info", "IMG"));
    }

    [Test]
    public void Bitmaps_in_use_at_open_are_inconsistent_kept_and_only_removable()
    {
        string image = BaseWithBitmap();
        SetInUse(image);
        RunBoth(image,
            Img("info", "IMG"),
            Img("check", "IMG"),
            Img("bitmap", "--clear", "IMG", "b0"),
            Img("bitmap", "--enable", "IMG", "b0"),
            Img("bitmap", "--disable", "IMG", "b0"),
            Img("bitmap", "--merge", "b0", "IMG", "off"),
            Img("bitmap", "--merge", "off", "IMG", "b0"),
            Io("write 0 64k"),
            Img("info", "IMG"),
            Img("bitmap", "--remove", "IMG", "b0"),
            Img("info", "--output=json", "IMG"));
    }

    [Test]
    public void Resize_resizes_the_bitmaps_as_qemu_img()
    {
        RunBoth(MakeBase("create -q -f qcow2 IMG 100M", ["qemu-img", "bitmap", "--add", "-g", "512", "IMG", "b0"]),
            Io("write 99M 1M"),
            Img("resize", "IMG", "101000k"),
            Io("write 100000k 1000k"),
            Img("resize", "--shrink", "IMG", "99M"),
            Img("resize", "IMG", "+1M"),
            Img("info", "--output=json", "IMG"),
            Img("check", "IMG"));
    }

    [Test]
    public void Resize_refuses_an_image_with_an_inconsistent_bitmap()
    {
        string image = BaseWithBitmap();
        SetInUse(image);
        RunBoth(image,
            Img("resize", "IMG", "128M"),
            Img("bitmap", "--remove", "IMG", "b0"),
            Img("bitmap", "--remove", "IMG", "off"),
            Img("resize", "IMG", "128M"),
            Img("info", "IMG"));
    }

    [Test]
    public void Applying_a_snapshot_is_refused_while_the_image_has_bitmaps()
    {
        RunBoth(MakeBase("create -q -f qcow2 IMG 64M", ["qemu-img", "snapshot", "-c", "s1", "IMG"], ["qemu-img", "bitmap", "--add", "--disable", "IMG", "b0"]),
            Img("snapshot", "-a", "s1", "IMG"),
            Img("snapshot", "-a", "nosuch", "IMG"),
            Img("bitmap", "--remove", "IMG", "b0"),
            Img("snapshot", "-a", "s1", "IMG"));
    }

    [Test]
    public void The_moved_bitmap_directory_is_still_protected()
    {
        string image = BaseWithBitmap();
        // A read-write open and close stores the bitmaps: the directory moves to newly allocated clusters.
        Must("qemu-io", "-c", "write 64k 512", image);
        var (dirOffset, l2Offset) = DirectoryAndL2(image);
        Assert.That(dirOffset, Is.GreaterThan(0));
        // L2[0] := COPIED | directory: guest cluster 0 now maps onto the bitmap directory.
        using (var f = File.OpenWrite(image))
        {
            var e = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(e, 0x8000000000000000UL | (ulong)dirOffset);
            f.Position = l2Offset;
            f.Write(e);
        }
        RunBoth(image,
            Io("write -P 0x2a 0 512"),
            new Step("io", "-c", "open -o overlap-check=all IMG", "-c", "write -P 0x2a 0 512"));
    }
}
