namespace Qcow2.UnitTests.Mkimage;

/// <summary>mkimage build: images from a short description, laid out as qemu-img and qemu-io lay them out.</summary>
[TestFixture]
public sealed class BuildTests : MkimageFixture
{
    [TestCase("size=64M write=0+64k@0x2a write=1M+4k@1", "", new[] { "write -P 0x2a 0 64k", "write -P 1 1M 4k" })]
    [TestCase("size=16M cluster_size=512 refcount_bits=1 write=100k+3k@7", "cluster_size=512,refcount_bits=1", new[] { "write -P 7 100k 3k" })]
    [TestCase("size=16M compat=0.10 write=0+1k@9", "compat=0.10", new[] { "write -P 9 0 1k" })]
    public void Build_gives_the_image_qemu_img_and_qemu_io_make(string description, string createOptions, string[] writes)
    {
        MkOk("built.qcow2", "build", description);
        string size = description.Split(' ')[0]["size=".Length..];
        if (createOptions.Length > 0)
        {
            Create("twin.qcow2", size, createOptions.Split(','));
        }
        else
        {
            Create("twin.qcow2", size);
        }
        foreach (var w in writes)
        {
            Qemu("qemu-io", "-c", w, "twin.qcow2");
        }
        Assert.That(Bytes("built.qcow2"), Is.EqualTo(Bytes("twin.qcow2")));
    }

    [Test]
    public void Build_with_a_snapshot_passes_qemu_img_check()
    {
        MkOk("s.qcow2", "build", "size=64M write=0+64k@1 snapshot=s1 write=0+4k@2");
        Assert.That(Qemu("qemu-img", "check", "s.qcow2"), Does.StartWith("No errors were found on the image."));
        Assert.That(Qemu("qemu-img", "snapshot", "-l", "s.qcow2"), Does.Contain(" s1 "));
        Assert.That(Qemu("qemu-io", "-c", "read -P 2 0 4k", "-c", "read -P 1 4k 60k", "s.qcow2"), Does.Not.Contain("failed"));
    }

    [TestCase("cluster_size=512", "mkimage: build: the description needs size=SIZE")]
    [TestCase("size=1M cluster_size=3", "mkimage: build: invalid cluster_size '3'")]
    [TestCase("size=1M refcount_bits=128", "mkimage: build: invalid refcount_bits '128'")]
    [TestCase("size=1M compat=0.10 refcount_bits=1", "mkimage: build: invalid refcount_bits '1'")]
    [TestCase("size=1M colour=blue", "mkimage: build: unknown item 'colour'")]
    [TestCase("size=1M write=0@1", "mkimage: build: invalid write '0@1'")]
    public void Build_rejects_bad_descriptions(string description, string error) => MkFails(error, "x.qcow2", "build", description);
}
