namespace Qcow2.UnitTests.Bitmaps;

/// <summary>qimg bitmap against qemu-img bitmap 7.2: same messages and exit codes, byte-identical files.</summary>
[TestFixture]
[Category("Interop")]
public sealed class BitmapCommandTests : BitmapScenario
{
    [Test]
    public void Add_writes_table_directory_extension_and_autoclear_bit_as_qemu_img()
    {
        RunBoth(MakeBase("create -q -f qcow2 IMG 64M"),
            Img("bitmap", "--add", "IMG", "b0"),
            Img("bitmap", "--add", "-g", "128k", "--disable", "IMG", "b1"),
            Img("bitmap", "--add", "-g", "512", "IMG", "fine"));
    }

    [Test]
    public void Remove_clear_enable_disable_and_merge_match_qemu_img()
    {
        RunBoth(MakeBase("create -q -f qcow2 IMG 64M"),
            Img("bitmap", "--add", "IMG", "b0"),
            Io("write -P 1 0 64k", "write -P 2 5M 3M"),
            Img("bitmap", "--add", "--disable", "IMG", "b1"),
            Img("bitmap", "--merge", "b0", "IMG", "b1"),
            Img("bitmap", "--clear", "IMG", "b0"),
            Img("bitmap", "--disable", "IMG", "b0"),
            Io("write 10M 64k"),
            Img("bitmap", "--enable", "IMG", "b0"),
            Io("write 20M 64k"),
            Img("bitmap", "--remove", "IMG", "b1"),
            Img("info", "IMG"),
            Img("bitmap", "--remove", "IMG", "b0"),
            Img("info", "IMG"),
            Img("check", "IMG"));
    }

    [Test]
    public void Several_actions_run_in_order_and_stop_at_the_first_failure()
    {
        RunBoth(MakeBase("create -q -f qcow2 IMG 64M"),
            Img("bitmap", "--add", "--disable", "--clear", "IMG", "b0"),
            Img("bitmap", "--remove", "--add", "IMG", "new"),
            Img("bitmap", "--add", "--remove", "IMG", "new2"),
            Img("info", "IMG"));
    }

    [Test]
    public void Argument_errors_print_qemu_img_messages()
    {
        RunBoth(MakeBase("create -q -f qcow2 IMG 64M"),
            Img("bitmap", "IMG", "b0"),
            Img("bitmap", "--add", "IMG"),
            Img("bitmap", "--add", "IMG", "b1", "b2"),
            Img("bitmap", "--add", "-g", "1000", "IMG", "b0"),
            Img("bitmap", "--add", "-g", "256", "IMG", "b0"),
            Img("bitmap", "--add", "-g", "4G", "IMG", "b0"),
            Img("bitmap", "--add", "-g", "xyz", "IMG", "b0"),
            Img("bitmap", "--enable", "-g", "64k", "IMG", "b0"),
            Img("bitmap", "--enable", "-F", "raw", "IMG", "b0"),
            Img("bitmap", "--enable", "-b", "x", "IMG", "b0"),
            Img("bitmap", "--add", "--disabled", "IMG", "b0"),
            Img("bitmap", "--merge"),
            Img("bitmap", "--add", "IMG", ""),
            Img("bitmap", "--add", "IMG", new string('x', 1024)),
            Img("bitmap", "--add", "IMG", new string('y', 1023)),
            Img("bitmap", "--add", "-g", "0", "IMG", "b0"),
            Img("bitmap", "--add", "IMG", "b0"),
            Img("bitmap", "--add", "-g", "1000", "IMG", "b0"),
            Img("bitmap", "--remove", "IMG", "nosuch"),
            Img("bitmap", "--clear", "IMG", "nosuch"),
            Img("bitmap", "--merge", "nosuch", "IMG", "b0"),
            Img("bitmap", "--merge", "b0", "-b", "nofile", "IMG", "b0"),
            // 4 GiB + 512 truncated to QMP's uint32 granularity is 512.
            Img("bitmap", "--add", "-g", "4294967808", "IMG", "odd"),
            Img("info", "IMG"));
    }

    [Test]
    public void Merge_from_another_image_converts_granularity_and_refuses_other_sizes()
    {
        string src = PathOf("src.qcow2"), other = PathOf("other.qcow2");
        Must("qemu-img", "create", "-q", "-f", "qcow2", src, "64M");
        Must("qemu-img", "bitmap", "--add", "-g", "512", src, "s0");
        Must("qemu-io", "-c", "write 100k 1M", "-c", "write 33M 1k", src);
        Must("qemu-img", "create", "-q", "-f", "qcow2", other, "32M");
        Must("qemu-img", "bitmap", "--add", other, "c0");
        RunBoth(MakeBase("create -q -f qcow2 IMG 64M"),
            Img("bitmap", "--add", "IMG", "b0"),
            Img("bitmap", "--merge", "c0", "-b", other, "IMG", "b0"),
            Img("bitmap", "--merge", "s0", "-b", src, "-F", "qcow2", "IMG", "b0"),
            Img("bitmap", "--add", "-g", "1M", "IMG", "b1"),
            Img("bitmap", "--merge", "s0", "-b", src, "IMG", "b1"),
            Img("bitmap", "--merge", "b1", "IMG", "b0"),
            Img("info", "--output=json", "IMG"));
    }

    [Test]
    public void V2_images_cannot_store_bitmaps()
    {
        RunBoth(MakeBase("create -q -f qcow2 -o compat=0.10 IMG 64M"),
            Img("bitmap", "--add", "IMG", "b0"),
            Img("bitmap", "--remove", "IMG", "b0"));
    }

    [TestCase("cluster_size=512", "64M")]
    [TestCase("cluster_size=2M", "1G")]
    [TestCase("cluster_size=4k,refcount_bits=1", "64M")]
    [TestCase("lazy_refcounts=on", "64M")]
    public void Default_granularity_and_layout_follow_the_cluster_size(string options, string size)
    {
        RunBoth(MakeBase($"create -q -f qcow2 -o {options} IMG {size}"),
            Img("bitmap", "--add", "IMG", "b0"),
            Io("write 0 64k", "write 30M 1M"),
            Img("bitmap", "--add", "-g", "512", "IMG", "b1"),
            Io("write 60M 64k"),
            Img("info", "IMG"),
            Img("check", "IMG"));
    }

    [Test]
    public void A_bitmap_needing_several_data_clusters_is_stored_cluster_by_cluster()
    {
        RunBoth(MakeBase("create -q -f qcow2 IMG 100G"),
            Img("bitmap", "--add", "-g", "512", "IMG", "b0"),
            Io("write 0 64k", "write 50G 64k", "write 99G 1M"),
            Img("info", "--output=json", "IMG"));
    }
}
