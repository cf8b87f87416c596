using System.Buffers.Binary;
using NUnit.Framework;
using Qcow2.Block;
using Qcow2.Format;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// qimg convert -l reading an internal snapshot read-only (Qcow2Image.LoadSnapshotTemporarily), with the snapshot
/// table errors iotest 080 expects; the images are made by the engine, and compared with qemu-img where installed.
/// </summary>
[TestFixture]
public class ConvertSnapshotTests : QimgFixture
{
    /// <summary>Where snapshot[0].l1_table_offset and snapshot[0].l1_size live in an image made by MakeImage.</summary>
    private (long L1Offset, long L1Size) SnapshotFields(string name)
    {
        byte[] header = new byte[Header.SnapshotsOffsetOffset + 8];
        using (var fs = File.OpenRead(PathOf(name)))
        {
            fs.ReadExactly(header);
        }
        long table = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(Header.SnapshotsOffsetOffset));
        return (table + SnapshotEntry.L1TableOffsetOffset, table + SnapshotEntry.L1SizeOffset);
    }

    /// <summary>A 4 MiB image whose snapshot "test" holds pattern 1 and whose active state holds pattern 2.</summary>
    private void MakeImage(string name)
    {
        string path = PathOf(name);
        Qcow2Image.Create(path, new Qcow2CreateOptions { Size = 4 << 20 });
        using var img = (Qcow2Image)ImageOpener.Open(path, new OpenOptions { Format = "qcow2" });
        img.Write(0, Enumerable.Repeat((byte)1, 128 * 1024).ToArray());
        img.CreateSnapshot("test");
        img.Write(0, Enumerable.Repeat((byte)2, 64 * 1024).ToArray());
    }

    private void Poke(string name, long offset, byte[] bytes) => ImageBytes.Poke(PathOf(name), offset, bytes);

    [TestCase("test")]
    [TestCase("1")]
    [TestCase("snapshot.name=test")]
    [TestCase("snapshot.id=1")]
    public void Snapshot_state_is_converted(string param)
    {
        MakeImage("img.qcow2");
        RunResult r = Qimg("convert", "-l", param, "img.qcow2", "out.raw");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        byte[] data = File.ReadAllBytes(PathOf("out.raw"));
        Assert.That(data, Has.Length.EqualTo(4 << 20));
        Assert.That(data.Take(128 * 1024), Is.All.EqualTo((byte)1));
        Assert.That(data.Skip(128 * 1024), Is.All.EqualTo((byte)0));
    }

    /// <summary>Asserts that convert -l with this snapshot parameter fails to load the snapshot with this reason.</summary>
    private void AssertLoadFails(string param, string reason)
    {
        RunResult r = Qimg("convert", "-l", param, "img.qcow2", "out.raw");
        Assert.That((r.ExitCode, r.Err), Is.EqualTo((1, $"qimg: Failed to load snapshot: {reason}\n")));
    }

    [Test]
    public void Unaligned_snapshot_L1_offset_is_refused()
    {
        MakeImage("img.qcow2");
        Poke("img.qcow2", SnapshotFields("img.qcow2").L1Offset, ImageBytes.Be64(0x400200));
        AssertLoadFails("test", "Snapshot L1 table offset invalid");
    }

    [Test]
    public void Oversized_snapshot_L1_is_refused()
    {
        MakeImage("img.qcow2");
        Poke("img.qcow2", SnapshotFields("img.qcow2").L1Size, ImageBytes.Be32(0x10000000));
        AssertLoadFails("snapshot.name=test", "Snapshot L1 table too large");
    }

    [Test]
    public void Missing_snapshot_is_reported()
    {
        MakeImage("img.qcow2");
        AssertLoadFails("snapshot.id=1,snapshot.name=other", "Can't find snapshot");
        Assert.That(File.Exists(PathOf("out.raw")), Is.False);
    }

    [Test]
    public void Load_is_refused_on_a_writable_image()
    {
        MakeImage("img.qcow2");
        using var img = (Qcow2Image)ImageOpener.Open(PathOf("img.qcow2"), new OpenOptions { Format = "qcow2" });
        Assert.Throws<InvalidOperationException>(() => img.LoadSnapshotTemporarily("test"));
    }

    /// <summary>The snapshot parameter, then which field of the snapshot table is broken (its L1 offset or its L1 size).</summary>
    private static IEnumerable<TestCaseData> SnapshotErrors => Rows.Of("test off", "1 size", "snapshot.name=test off", "snapshot.id=1 size", "snapshot.id=2 off");

    [TestCaseSource(nameof(SnapshotErrors))]
    public void Snapshot_errors_match_qemu_img(string param, string field)
    {
        MakeImage("img.qcow2");
        (long l1Offset, long l1Size) = SnapshotFields("img.qcow2");
        if (field == "off")
        {
            Poke("img.qcow2", l1Offset, ImageBytes.Be64(0x400200));
        }
        else
        {
            Poke("img.qcow2", l1Size, ImageBytes.Be32(0x10000000));
        }
        RunResult expected = QemuImg("convert", "-l", param, "img.qcow2", "out.raw");
        RunResult actual = Qimg("convert", "-l", param, "img.qcow2", "out.raw");
        Assert.That(actual, Is.EqualTo(expected));
    }
}
