using Qcow2.Block;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Locking;

/// <summary>
/// Image locks against QEMU 7.2 and against a second process of ours: the bytes each kind of open locks (read back
/// from /proc/locks), and what happens to an image that one writer holds while another tool tries to change it.
/// </summary>
[TestFixture]
public sealed class LockingInteropTests : InteropFixture
{
    /// <summary>Our open and qemu-io's lock the same bytes (100 + permission taken, 200 + permission not shared).</summary>
    [TestCase("qcow2", "", "100 101 103 201 203")]
    [TestCase("qcow2", "-r", "100 201 203")]
    [TestCase("qcow2", "-r -U", "100")]
    [TestCase("raw", "", "100 101")]
    [TestCase("raw", "-r", "100")]
    public void Our_open_locks_the_bytes_qemu_io_locks(string format, string flags, string expected)
    {
        Must("qemu-img", "create", "-q", "-f", format, "t.img", "1M");
        string[] args = [.. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-f", format, "t.img"];
        string qemus;
        using (ImageHolder.Start("qemu-io", Dir, args))
        {
            qemus = LockedBytes("t.img");
        }
        var options = new OpenOptions { Format = format, ReadOnly = flags.Contains("-r"), ForceShare = flags.Contains("-U") };
        string ours;
        using (ImageOpener.Open(PathOf("t.img"), options))
        {
            ours = LockedBytes("t.img");
        }
        Assert.That(qemus, Is.EqualTo(expected), "qemu-io's locks");
        Assert.That(ours, Is.EqualTo(expected), "our locks");
        Assert.That(LockedBytes("t.img"), Is.Empty, "closing drops every lock");
    }

    /// <summary>The original bug: two qio writers both succeeded and lost each other's writes. The second is refused, and
    /// every write of the first reads back.</summary>
    [Test]
    public void A_second_qio_writer_is_refused_and_the_first_writers_data_survives()
    {
        Must("qemu-img", "create", "-q", "-f", "qcow2", "t.qcow2", "4M");
        using (var first = ImageHolder.Start(ImageHolder.OurQio, Dir, "t.qcow2"))
        {
            first.Send("write -P 0x61 1M 64k");
            first.WaitFor("wrote 65536/65536", "first writer");
            ToolRun second = Qio(null, "-c", "write -P 0x62 1M 64k", "t.qcow2");
            Assert.That(second.ExitCode, Is.EqualTo(1), second.ToString());
            Assert.That(second.Err, Is.EqualTo(
                "qio: can't open device t.qcow2: Failed to get \"write\" lock\nIs another process using the image [t.qcow2]?\n"));
            first.Send("write -P 0x63 2M 64k");
            first.WaitFor("wrote 65536/65536 bytes at offset 2097152", "first writer");
        }
        Must("qemu-io", "-r", "-c", "read -P 0x61 1M 64k", "-c", "read -P 0x63 2M 64k", "t.qcow2");
        AssertCheckClean("t.qcow2", "after the refused second writer");
    }

    /// <summary>qimg snapshot -c while a writer holds the image overwrote the snapshot table; now it fails as qemu-img does
    /// and the image stays readable and clean.</summary>
    [TestCase("qemu-io")]
    [TestCase("qio")]
    public void Snapshot_create_while_a_writer_holds_the_image_fails_and_changes_nothing(string holder)
    {
        Must("qemu-img", "create", "-q", "-f", "qcow2", "t.qcow2", "4M");
        byte[] before = File.ReadAllBytes(PathOf("t.qcow2"));
        using (var writer = ImageHolder.Start(holder == "qio" ? ImageHolder.OurQio : "qemu-io", Dir, "t.qcow2"))
        {
            ToolRun ours = Qimg(null, "snapshot", "-c", "s1", "t.qcow2");
            ToolRun qemu = Qemu("qemu-img", null, "snapshot", "-c", "s1", "t.qcow2");
            Assert.That(ours.ExitCode, Is.EqualTo(1), ours.ToString());
            Assert.That(ours.Err, Is.EqualTo(Normalize(qemu.Err)));
            Assert.That(ours.Err, Is.EqualTo(
                "qimg: Could not open 't.qcow2': Failed to get \"write\" lock\nIs another process using the image [t.qcow2]?\n"));
            Assert.That(File.ReadAllBytes(PathOf("t.qcow2")), Is.EqualTo(before), "the refused command wrote to the image");
            writer.Send("write -P 0x71 0 64k");
            writer.WaitFor("wrote 65536/65536", "writer");
        }
        Must("qemu-io", "-r", "-c", "read -P 0x71 0 64k", "t.qcow2");
        Assert.That(Must("qemu-img", "snapshot", "-l", "t.qcow2").Out, Is.Empty);
        AssertCheckClean("t.qcow2", "after the refused snapshot -c");
    }

    /// <summary>qemu-img create on an image in use locks before it truncates: the holder's image is left as it was.</summary>
    [TestCase("qcow2")]
    [TestCase("raw")]
    public void Create_over_a_held_image_leaves_it_untouched(string format)
    {
        Must("qemu-img", "create", "-q", "-f", "qcow2", "t.qcow2", "4M");
        Must("qemu-io", "-c", "write -P 0x42 0 64k", "t.qcow2");
        byte[] before = File.ReadAllBytes(PathOf("t.qcow2"));
        using (ImageHolder.Start("qemu-io", Dir, "-r", "t.qcow2"))
        {
            ToolRun ours = Qimg(null, "create", "-f", format, "t.qcow2", "1M");
            ToolRun qemu = Qemu("qemu-img", null, "create", "-f", format, "t.qcow2", "1M");
            Assert.That((ours.ExitCode, ours.Out, ours.Err), Is.EqualTo((qemu.ExitCode, qemu.Out, Normalize(qemu.Err))));
            Assert.That(ours.Err, Does.EndWith("t.qcow2: Failed to get \"write\" lock\nIs another process using the image [t.qcow2]?\n"));
        }
        Assert.That(File.ReadAllBytes(PathOf("t.qcow2")), Is.EqualTo(before));
    }

    /// <summary>A backing file in use by a writer: opening the overlay fails on the backing file, named as QEMU names it.</summary>
    [Test]
    public void A_held_backing_file_is_reported_with_its_combined_name()
    {
        string sub = SubDir("d");
        Must("qemu-img", "create", "-q", "-f", "qcow2", "d/base.qcow2", "1M");
        Must("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "d/top.qcow2");
        using (ImageHolder.Start("qemu-io", sub, "base.qcow2"))
        {
            foreach (string[] args in new[] { new[] { "map", "d/top.qcow2" }, ["info", "--backing-chain", "d/top.qcow2"], ["map", "-U", "d/top.qcow2"] })
            {
                ToolRun ours = Qimg(null, args);
                ToolRun qemu = Qemu("qemu-img", null, args);
                Assert.That((ours.ExitCode, ours.Err), Is.EqualTo((qemu.ExitCode, Normalize(qemu.Err))), string.Join(' ', args));
            }
            Assert.That(Qimg(null, "map", "d/top.qcow2").Err, Is.EqualTo(
                "qimg: Could not open 'd/top.qcow2': Could not open backing file: Failed to get shared \"write\" lock\n"
                + "Is another process using the image [d/base.qcow2]?\n"));
        }
    }

    /// <summary>Option errors as QEMU words them: force-share on a writable open, a bad locking value.</summary>
    [TestCase("-U", "-c", "read 0 512", "t.qcow2")]
    [TestCase("-c", "read 0 512", "--image-opts", "driver=qcow2,file.filename=t.qcow2,file.locking=maybe")]
    [TestCase("-c", "open -U t.qcow2")]
    public void Locking_option_errors_match_qemu_io(params string[] args)
    {
        Must("qemu-img", "create", "-q", "-f", "qcow2", "t.qcow2", "1M");
        ToolRun ours = Qio(null, args);
        ToolRun qemu = Qemu("qemu-io", null, args);
        Assert.That((ours.ExitCode, ours.Err), Is.EqualTo((qemu.ExitCode, Normalize(qemu.Err))), string.Join(' ', args));
    }

    /// <summary>qio reopen -w on an image another process reads: refused as qemu-io's reopen is, bare message, image still open read-only.</summary>
    [Test]
    public void Reopen_read_write_under_a_reader_is_refused_as_qemu_io_refuses_it()
    {
        Must("qemu-img", "create", "-q", "-f", "qcow2", "t.qcow2", "1M");
        using (ImageHolder.Start("qemu-io", Dir, "-r", "t.qcow2"))
        {
            string[] args = ["-r", "-c", "reopen -w", "-c", "write 0 512", "-c", "read 0 512", "t.qcow2"];
            ToolRun ours = Qio(null, args);
            ToolRun qemu = Qemu("qemu-io", null, args);
            Assert.That((ours.ExitCode, ours.Err, Normalize(ours.Out)), Is.EqualTo((qemu.ExitCode, Normalize(qemu.Err), Normalize(qemu.Out))));
            Assert.That(ours.Err, Does.StartWith("qio: Failed to get \"write\" lock\nIs another process using the image [t.qcow2]?\n"));
        }
    }

    /// <summary>The OFD lock bytes /proc/locks lists for a file, sorted and space-separated.</summary>
    private string LockedBytes(string name)
    {
        string inode = ToolProcess.Must("stat", Dir, "-c", "%i", PathOf(name)).Out.Trim();
        var bytes = new SortedSet<long>();
        foreach (string line in File.ReadAllLines("/proc/locks"))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 8 && f[1] == "OFDLCK" && f[5].EndsWith(":" + inode, StringComparison.Ordinal))
            {
                for (long b = long.Parse(f[6]); b <= long.Parse(f[7]); b++)
                {
                    bytes.Add(b);
                }
            }
        }
        return string.Join(' ', bytes);
    }
}
