using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Qio;

/// <summary>
/// A discard that frees clusters and then copies an L2 table shared with a snapshot: the copy must not go into a
/// freed cluster whose discard is still queued (QEMU's alloc_clusters_noref processes the queue first).
/// </summary>
[TestFixture]
public class QueuedDiscardInteropTests : InteropFixture
{
    private const long SharedL2Data = 512L * 1024 * 1024 + 320 * 1024; // entry 5 of the second L2 table (64 KiB clusters)

    [Test]
    public void Discard_keeps_the_entries_of_a_shared_L2_table_it_copies()
    {
        // L2 table 0 is the active layer's own (COPIED) after the rewrite of 0; L2 table 1 is shared with the snapshot.
        Must("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "1G");
        Must("qemu-io", "-c", "write -P 1 0 64k", "-c", $"write -P 2 {SharedL2Data} 64k", "base.qcow2");
        Must("qemu-img", "snapshot", "-c", "s", "base.qcow2");
        Must("qemu-io", "-c", "write -P 3 0 64k", "base.qcow2");
        File.Copy(PathOf("base.qcow2"), PathOf("q.qcow2"));
        File.Copy(PathOf("base.qcow2"), PathOf("o.qcow2"));

        // The discard frees cluster 0's data (queued for discard with -d unmap), then copies L2 table 1, whose entry 0
        // is unallocated already, so the copy is not written again after its allocation.
        string discard = $"discard 0 {512L * 1024 * 1024 + 64 * 1024}";
        Must("qemu-io", "-d", "unmap", "-c", discard, "q.qcow2");
        var ours = Qio(null, "-d", "unmap", "-c", discard, "o.qcow2");
        Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());

        var read = Qemu("qemu-io", null, "-c", $"read -P 2 {SharedL2Data} 64k", "o.qcow2");
        Assert.That(read.Out, Does.Not.Contain("Pattern verification failed"), "the copied L2 table lost its entries:\n" + read);
        AssertCheckClean("o.qcow2", "after qio discard");
        FileBytes.AssertSame(PathOf("o.qcow2"), PathOf("q.qcow2"), "image bytes");
    }
}
