namespace Qcow2.UnitTests.Interop;

/// <summary>qimg create with every preallocation mode gives qemu-img's file byte for byte, and the same map.</summary>
[TestFixture]
public sealed class PreallocationTests : InteropFixture
{
    [TestCase("metadata", "4M", 65536)]
    [TestCase("falloc", "4M", 65536)]
    [TestCase("full", "4M", 65536)]
    [TestCase("falloc", "16M", 512)]
    [TestCase("full", "5M", 4096)]
    [TestCase("falloc", "100M", 2097152)]
    public void Preallocated_images_match_qemu_img(string mode, string size, int clusterSize)
    {
        string options = $"preallocation={mode},cluster_size={clusterSize}";
        Must("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, "q.qcow2", size);
        Assert.That(Qimg(null, "create", "-q", "-f", "qcow2", "-o", options, "m.qcow2", size).ExitCode, Is.EqualTo(0));
        FileBytes.AssertSame(PathOf("m.qcow2"), PathOf("q.qcow2"), options);
        Assert.That(Qemu("qemu-img", null, "map", "--output=json", "m.qcow2").Out,
            Is.EqualTo(Qemu("qemu-img", null, "map", "--output=json", "q.qcow2").Out), "map of " + options);
        AssertCheckClean("m.qcow2", options);
    }
}
