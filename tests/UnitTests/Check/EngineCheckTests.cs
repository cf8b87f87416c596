using System.Buffers.Binary;
using Qcow2.Block;
using Qcow2.Storage;
using Qcow2.UnitTests.Engine;

namespace Qcow2.UnitTests.Check;

/// <summary>Qcow2Image.Check on in-memory images (no QEMU needed): counters, lines and repairs.</summary>
[TestFixture]
public class EngineCheckTests
{
    private const long RefBlock = 0x20000;

    private static MemoryStorage ImageWithOneCluster()
    {
        var storage = EngineFixture.NewImage(64 << 20);
        using (var img = EngineFixture.Open(storage))
        {
            img.Write(0, new byte[65536]);
        }
        return storage;
    }

    private static void SetRefcount(MemoryStorage s, long cluster, ushort value)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        s.Write(RefBlock + cluster * 2, b);
    }

    private static Qcow2Image OpenForCheck(MemoryStorage s, bool readWrite) =>
        Qcow2Image.Open(s, "t.qcow2", new OpenOptions { Format = "qcow2", CheckMode = true, ReadOnly = !readWrite });

    [Test]
    public void Check_of_a_healthy_image_counts_its_clusters()
    {
        var s = ImageWithOneCluster();
        var img = OpenForCheck(s, false);
        var err = new StringWriter();
        var r = img.CheckConsistency(CheckRepair.None, err);
        Assert.Multiple(() =>
        {
            Assert.That(err.ToString(), Is.Empty);
            Assert.That(r.Failure, Is.Null);
            Assert.That((r.Corruptions, r.Leaks, r.CheckErrors), Is.EqualTo((0L, 0L, 0L)));
            Assert.That(r.TotalClusters, Is.EqualTo(1024));
            Assert.That(r.AllocatedClusters, Is.EqualTo(1));
            Assert.That(r.ImageEndOffset, Is.EqualTo(6 * 65536));
        });
    }

    [Test]
    public void Check_reports_a_leak_and_repairs_it_with_leaks_mode()
    {
        var s = ImageWithOneCluster();
        // A cluster past the data that nothing references.
        s.SetLength(7 * 65536);
        SetRefcount(s, 6, 1);
        var img = OpenForCheck(s, true);
        var err = new StringWriter { NewLine = "\n" };
        var report = img.CheckConsistency(CheckRepair.None, err);
        Assert.That(report.Leaks, Is.EqualTo(1));
        Assert.That(report.Corruptions, Is.EqualTo(0));
        Assert.That(err.ToString(), Is.EqualTo("Leaked cluster 6 refcount=1 reference=0\n"));

        err.GetStringBuilder().Clear();
        var fixedResult = img.CheckConsistency(CheckRepair.Leaks, err);
        Assert.That(fixedResult.LeaksFixed, Is.EqualTo(1));
        Assert.That(err.ToString(), Is.EqualTo("Leaked cluster 6 refcount=1 reference=0\nRepairing cluster 6 refcount=1 reference=0\n"));
        Assert.That(img.CheckConsistency(CheckRepair.None, TextWriter.Null) with { ImageEndOffset = 0 },
            Is.EqualTo(new CheckResult { TotalClusters = 1024, AllocatedClusters = 1 }));
    }

    [Test]
    public void Check_rebuilds_the_refcount_structure_when_metadata_has_refcount_zero()
    {
        var s = ImageWithOneCluster();
        SetRefcount(s, 3, 0);
        var img = OpenForCheck(s, true);
        var err = new StringWriter { NewLine = "\n" };
        Assert.That(img.CheckConsistency(CheckRepair.Leaks, err).Failure, Is.EqualTo(Errno.EIO));
        Assert.That(err.ToString(), Does.EndWith("ERROR need to rebuild refcount structures\n"));

        err.GetStringBuilder().Clear();
        var r = img.CheckConsistency(CheckRepair.All, err);
        Assert.That(err.ToString(), Does.Contain("Rebuilding refcount structure\n"));
        Assert.That(r.CorruptionsFixed, Is.EqualTo(1));
        var again = img.CheckConsistency(CheckRepair.None, TextWriter.Null);
        Assert.That((again.Corruptions, again.Leaks, again.CheckErrors), Is.EqualTo((0L, 0L, 0L)));
        Assert.That(img.Header.RefcountTableOffset, Is.Not.EqualTo(0x10000UL));
    }

    [Test]
    public void Repairing_check_needs_a_writable_image()
    {
        var img = OpenForCheck(ImageWithOneCluster(), false);
        Assert.Throws<InvalidOperationException>(() => img.CheckConsistency(CheckRepair.All, TextWriter.Null));
    }
}
