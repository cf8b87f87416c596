using System.Buffers.Binary;
using NUnit.Framework;

namespace Qcow2.UnitTests.Snapshots;

/// <summary>
/// iotest 080's snapshot rows and the snapshot table limits: each poke gives qemu-img's message and exit code. Row 10, a
/// full table of 65536 snapshots refusing snapshot -c with EFBIG, is the hostile catalogue's
/// snapshots-65536-at-16M-then-snapshot-c (HostileImageTests compares qimg snapshot -c there with qemu-img's: output,
/// exit code and image), so QEMU reads that table (seconds of CPU) once per run, not twice.
/// </summary>
public sealed class SnapshotValidationTests : SnapshotFixture
{
    private void Poke(string image, long offset, byte[] data) => ImageBytes.Poke(PathOf(image), offset, data);

    private long SnapshotTableOffset(string image) =>
        (long)BinaryPrimitives.ReadUInt64BigEndian(File.ReadAllBytes(PathOf(image)).AsSpan(64));

    /// <summary>Runs the same snapshot command with both tools on two copies; asserts equal results and returns ours.</summary>
    private RunResult Both(string[] args)
    {
        var q = QemuSnapshot([.. args, "q.qcow2"]);
        var o = QimgSnapshot([.. args, "o.qcow2"]);
        o = o with { Err = o.Err.Replace("'o.qcow2'", "'q.qcow2'", StringComparison.Ordinal).Replace("qemu-img", "qimg", StringComparison.Ordinal) };
        Assert.That((o.ExitCode, o.Out, o.Err), Is.EqualTo((q.ExitCode, q.Out, q.Err)), string.Join(' ', args));
        return o;
    }

    private void WrittenPair()
    {
        CreatePair("q.qcow2", "o.qcow2", "cluster_size=65536");
        QemuIo("q.qcow2", "write 0 512");
        File.Copy(PathOf("q.qcow2"), PathOf("o.qcow2"), overwrite: true);
    }

    /// <summary>The written pair after qemu-img made snapshot 'test' in q.qcow2, copied to o.qcow2.</summary>
    private void WrittenPairWithSnapshot()
    {
        WrittenPair();
        Assert.That(QemuSnapshot("-c", "test", "q.qcow2").ExitCode, Is.EqualTo(0));
        File.Copy(PathOf("q.qcow2"), PathOf("o.qcow2"), overwrite: true);
    }

    [TestCase(0xbfffffffffff0000UL, "-27 (File too large)")]
    [TestCase(0x800000ffffff0000UL, "-11 (Resource temporarily unavailable)")]
    public void Rows16_17_data_cluster_beyond_reach_fails_the_refcount_update(ulong l2Entry, string error)
    {
        WrittenPair();
        foreach (string img in new[] { "q.qcow2", "o.qcow2" })
        {
            Poke(img, 0x40000, ImageBytes.Be64(l2Entry));
        }
        var r = Both(["-c", "test"]);
        Assert.That(r.Err, Is.EqualTo($"qimg: Could not create snapshot 'test': {error}\n"));
        FileBytes.AssertSame(PathOf("o.qcow2"), PathOf("q.qcow2"));
    }

    [TestCase(0, 0x400200UL, "Snapshot L1 table offset invalid", "Invalid argument")]
    [TestCase(8, 0x10000000UL, "Snapshot L1 table too large", "File too large")]
    public void Rows18_19_bad_snapshot_L1_fails_apply_and_delete(int field, ulong value, string message, string error)
    {
        WrittenPairWithSnapshot();
        foreach (string img in new[] { "q.qcow2", "o.qcow2" })
        {
            long at = SnapshotTableOffset(img) + field;
            Poke(img, at, field == 0 ? ImageBytes.Be64(value) : ImageBytes.Be32((uint)value));
        }
        var apply = Both(["-a", "test"]);
        Assert.That(apply.Err, Is.EqualTo($"qimg: {message}\nqimg: Could not apply snapshot 'test': Failed to load snapshot: {error}\n"));
        var delete = Both(["-d", "test"]);
        Assert.That(delete.Err, Is.EqualTo($"qimg: Could not delete snapshot 'test': {message}\n"));
        Both(["-l"]);
        FileBytes.AssertSame(PathOf("o.qcow2"), PathOf("q.qcow2"));
    }

    [Test]
    public void Too_much_extra_data_refuses_the_open_with_the_repair_hint()
    {
        WrittenPairWithSnapshot();
        foreach (string img in new[] { "q.qcow2", "o.qcow2" })
        {
            Poke(img, SnapshotTableOffset(img) + 36, ImageBytes.Be32(1025));
        }
        var r = Both(["-l"]);
        Assert.That(r.Err, Is.EqualTo("qimg: Could not open 'q.qcow2': Too much extra metadata in snapshot table entry 0\n"
            + "You can force-remove this extra metadata with qimg check -r all\n"));
    }

    [Test]
    public void Unknown_extra_data_is_kept_when_the_table_is_rewritten()
    {
        WrittenPairWithSnapshot();
        // A v3 entry with 16 bytes of extra data (no icount) reads icount as -1; the rewrite stores 24 bytes.
        foreach (string img in new[] { "q.qcow2", "o.qcow2" })
        {
            long t = SnapshotTableOffset(img);
            Poke(img, t + 36, ImageBytes.Be32(16));
            Poke(img, t + 56, "1test"u8.ToArray());
        }
        Both(["-l"]);
        var q = QemuSnapshot("-c", "second", "q.qcow2");
        PinClockTo("q.qcow2");
        var o = QimgSnapshot("-c", "second", "o.qcow2");
        Assert.That((o.ExitCode, o.Err), Is.EqualTo((q.ExitCode, q.Err)));
        Assert.That(AllocatedDifferences("q.qcow2", "o.qcow2"), Is.Empty);
        Both(["-l"]);
    }
}
