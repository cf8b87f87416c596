using NUnit.Framework;

namespace Qcow2.UnitTests.Snapshots;

/// <summary>qimg snapshot against qemu-img snapshot on identical images: same files, same messages, same exit codes.</summary>
public sealed class SnapshotInteropTests : SnapshotFixture
{
    [Test]
    public void First_snapshot_of_a_written_image_is_byte_identical_to_qemu_img()
    {
        CreatePair("q.qcow2", "o.qcow2", "cluster_size=65536");
        foreach (string img in new[] { "q.qcow2", "o.qcow2" })
        {
            QemuIo(img, "write -P 1 0 128k");
            QemuIo(img, "write -z 2M 64k");
        }
        Assert.That(QemuSnapshot("-c", "snap1", "q.qcow2").ExitCode, Is.EqualTo(0));
        PinClockTo("q.qcow2");
        var ours = QimgSnapshot("-c", "snap1", "o.qcow2");
        Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());
        FileBytes.AssertSame(PathOf("o.qcow2"), PathOf("q.qcow2"));
    }

    [Test]
    public void Next_write_after_a_snapshot_puts_the_new_L2_table_at_0x80000()
    {
        CreatePair("o.qcow2", "unused.qcow2", "cluster_size=65536");
        QemuIo("o.qcow2", "write -P 1 0 512");
        Assert.That(QimgSnapshot("-c", "foo", "o.qcow2").ExitCode, Is.EqualTo(0));
        QemuIo("o.qcow2", "write -P 2 0 512");
        var map = QemuImg("map", "--output=json", "o.qcow2");
        Assert.That(map.Out, Does.Contain("\"offset\": 589824"), map.ToString());
        byte[] l1 = File.ReadAllBytes(PathOf("o.qcow2")).AsSpan(0x30000, 8).ToArray();
        Assert.That(Convert.ToHexString(l1), Is.EqualTo("8000000000080000"));
    }

    private static readonly object[] Histories =
    [
        new object[] { "cluster_size=65536", 1 },
        new object[] { "cluster_size=4096", 2 },
        new object[] { "compat=0.10", 3 },
        new object[] { "refcount_bits=1,cluster_size=512", 4 },
        new object[] { "lazy_refcounts=on", 5 },
    ];

    [TestCaseSource(nameof(Histories))]
    public void Seeded_history_gives_the_same_images_and_messages_as_qemu_img(string options, int seed)
    {
        CreatePair("q.qcow2", "o.qcow2", options);
        int clusterSize = options.Contains("cluster_size=4096", StringComparison.Ordinal) ? 4096
            : options.Contains("cluster_size=512", StringComparison.Ordinal) ? 512 : 65536;
        var rng = new Random(seed);
        var names = new List<string>();
        int n = 0;
        var log = new List<string>();
        for (int step = 0; step < 30; step++)
        {
            double k = rng.NextDouble();
            string[]? snap = null;
            if (k < 0.5)
            {
                long off = rng.Next(0, 60) * (long)new[] { 4096, 65536, 1 << 20 }[rng.Next(3)] % (60L << 20);
                int len = new[] { 512, 4096, 65536, 200000 }[rng.Next(4)];
                string op = rng.Next(5) switch
                {
                    0 => "write -z",
                    1 => "discard",
                    2 when off % clusterSize == 0 => "write -c",
                    _ => $"write -P {rng.Next(1, 255)}",
                };
                if (op == "write -c")
                {
                    len = clusterSize;
                }
                string cmd = $"{op} {off} {len}";
                log.Add("io " + cmd);
                QemuIo("q.qcow2", cmd);
                QemuIo("o.qcow2", cmd);
            }
            else if (k < 0.7)
            {
                string name = "s" + ++n;
                names.Add(name);
                snap = ["-c", name];
            }
            else if (k < 0.85 && names.Count > 0)
            {
                snap = ["-a", rng.Next(3) == 0 ? "1" : names[rng.Next(names.Count)]];
            }
            else if (names.Count > 0)
            {
                string name = names[rng.Next(names.Count)];
                names.Remove(name);
                snap = ["-d", name];
            }
            if (snap is not null)
            {
                log.Add("snapshot " + string.Join(' ', snap));
                var q = QemuSnapshot([.. snap, "q.qcow2"]);
                PinClockTo("q.qcow2");
                var o = QimgSnapshot([.. snap, "o.qcow2"]);
                Assert.That((o.ExitCode, o.Out, o.Err), Is.EqualTo((q.ExitCode, q.Out, q.Err)), $"seed {seed}: {string.Join("; ", log)}");
            }
            AssertSameFiles("q.qcow2", "o.qcow2", $"seed {seed}: {string.Join("; ", log)}");
        }
        Assert.That(QimgSnapshot("-l", "o.qcow2").Out, Is.EqualTo(QemuSnapshot("-l", "q.qcow2").Out));
        // Failed snapshot operations leak clusters in QEMU too (refcount_bits=1), so the check results must agree, not be clean.
        var ourCheck = QemuImg("check", "o.qcow2");
        var qemuCheck = QemuImg("check", "q.qcow2");
        Assert.That((ourCheck.ExitCode, ourCheck.Out, ourCheck.Err), Is.EqualTo((qemuCheck.ExitCode, qemuCheck.Out, qemuCheck.Err)));
        Assert.That(QemuImg("map", "--output=json", "o.qcow2").Out, Is.EqualTo(QemuImg("map", "--output=json", "q.qcow2").Out));
    }

    [Test]
    public void Snapshots_made_by_qimg_are_applied_and_deleted_by_qemu_img_and_the_reverse()
    {
        CreatePair("a.qcow2", "b.qcow2", "cluster_size=65536");
        // a: qimg creates, qemu-img applies and deletes. b: qemu-img creates, qimg applies and deletes.
        foreach (string img in new[] { "a.qcow2", "b.qcow2" })
        {
            QemuIo(img, "write -P 1 0 64k");
        }
        Assert.That(QimgSnapshot("-c", "one", "a.qcow2").ExitCode, Is.EqualTo(0));
        Assert.That(QemuSnapshot("-c", "one", "b.qcow2").ExitCode, Is.EqualTo(0));
        foreach (string img in new[] { "a.qcow2", "b.qcow2" })
        {
            QemuIo(img, "write -P 2 0 64k");
        }
        Assert.That(QemuSnapshot("-a", "one", "a.qcow2").ExitCode, Is.EqualTo(0));
        Assert.That(QimgSnapshot("-a", "one", "b.qcow2").ExitCode, Is.EqualTo(0));
        foreach (string img in new[] { "a.qcow2", "b.qcow2" })
        {
            var read = Qemu("qemu-io", "-c", "read -P 1 0 64k", img);
            Assert.That(read.Out, Does.Not.Contain("Pattern verification failed"), read.ToString());
            Assert.That(QemuImg("check", img).ExitCode, Is.EqualTo(0));
        }
        Assert.That(QemuSnapshot("-d", "one", "a.qcow2").ExitCode, Is.EqualTo(0));
        Assert.That(QimgSnapshot("-d", "one", "b.qcow2").ExitCode, Is.EqualTo(0));
        Assert.That(AllocatedDifferences("a.qcow2", "b.qcow2"), Is.Empty);
        Assert.That(QemuImg("check", "b.qcow2").ExitCode, Is.EqualTo(0));
    }

    [Test]
    public void List_output_matches_qemu_img()
    {
        CreatePair("q.qcow2", "unused.qcow2", "cluster_size=65536");
        Assert.That(QemuSnapshot("-c", "first", "q.qcow2").ExitCode, Is.EqualTo(0));
        Assert.That(QimgSnapshot("-c", "a-much-longer-snapshot-name", "q.qcow2").ExitCode, Is.EqualTo(0));
        Assert.That(QimgSnapshot("-c", "", "q.qcow2").ExitCode, Is.EqualTo(0));
        var q = QemuSnapshot("-l", "q.qcow2");
        var o = QimgSnapshot("-l", "q.qcow2");
        Assert.That(o.Out, Does.StartWith("Snapshot list:\nID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n"));
        Assert.That((o.ExitCode, o.Out, o.Err), Is.EqualTo((q.ExitCode, q.Out, q.Err)));
        // An image without snapshots lists nothing, and no action at all does nothing.
        Assert.That(QimgSnapshot("-l", "unused.qcow2").Out, Is.Empty);
        Assert.That(QimgSnapshot("unused.qcow2"), Is.EqualTo(QemuSnapshot("unused.qcow2")));
    }

    private static readonly object[] UsageCases =
    [
        new object[] { new[] { "-l", "-c", "x", "q.qcow2" } },
        new object[] { new[] { "-c", "x" } },
        new object[] { new[] { "-c" } },
        new object[] { new[] { "-f", "qcow2", "-l", "q.qcow2" } },
        new object[] { new[] { "-c", "x", "q.qcow2", "extra" } },
        new object[] { new[] { "-d", "1", "q.qcow2" } },
        new object[] { new[] { "-a", "nope", "q.qcow2" } },
        new object[] { new[] { "-d", "nope", "q.qcow2" } },
        new object[] { new[] { "-U", "-c", "x", "q.qcow2" } },
        new object[] { new[] { "-l", "missing.qcow2" } },
    ];

    [TestCaseSource(nameof(UsageCases))]
    public void Errors_and_exit_codes_match_qemu_img(string[] args)
    {
        CreatePair("q.qcow2", "unused.qcow2", "cluster_size=65536");
        Assert.That(QemuSnapshot("-c", "one", "q.qcow2").ExitCode, Is.EqualTo(0));
        var q = QemuSnapshot(args);
        var o = QimgSnapshot(args);
        Assert.That((o.ExitCode, o.Out, o.Err), Is.EqualTo((q.ExitCode, q.Out, q.Err)));
    }
}
