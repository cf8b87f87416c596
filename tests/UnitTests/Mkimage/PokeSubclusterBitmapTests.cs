using NUnit.Framework;

namespace Qcow2.UnitTests.Mkimage;

/// <summary>l2[i][j].bitmap: the subcluster bitmap of an extended L2 entry, the second half of its 16 bytes.</summary>
[TestFixture]
public class PokeSubclusterBitmapTests : MkimageFixture
{
    [Test]
    public void Peek_and_poke_the_subcluster_bitmap_as_qemu_reads_it()
    {
        Qemu("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "img", "1M");
        Qemu("qemu-io", "-c", "write -P 1 0 4k", "img");
        // 4 KiB at 0 allocates subclusters 0 and 1 (2 KiB each).
        Assert.That(MkOk("img", "peek", "l2[0][0].bitmap"), Is.EqualTo("0x3\n"));
        Assert.That(MkOk("img", "peek", "l2[0][0]"), Is.EqualTo("0x8000000000050000\n"));
        // Turning both subclusters into zero subclusters: QEMU then reads zeros there.
        MkOk("img", "poke", "l2[0][0].bitmap", "0x0000000300000000");
        Assert.That(Qemu("qemu-io", "-c", "read -P 0 0 4k", "img"), Does.StartWith("read 4096/4096 bytes at offset 0"));
        // Both bits of subcluster 0 set is invalid, as qemu-img check says.
        MkOk("img", "poke", "l2[0][0].bitmap", "0x0000000100000001");
        Assert.That(Qemu("qemu-img", "check", "img"), Does.Contain("Allocated cluster has corrupted subcluster allocation bitmap"));
    }

    [Test]
    public void Bitmap_of_a_standard_entry_is_refused()
    {
        Qemu("qemu-img", "create", "-q", "-f", "qcow2", "img", "1M");
        Qemu("qemu-io", "-c", "write 0 4k", "img");
        MkFails("mkimage: l2[0][0].bitmap: the image has no extended L2 entries (incompatible feature bit 4)", "img", "peek", "l2[0][0].bitmap");
    }
}
