namespace Qcow2.UnitTests.Fuzz;

/// <summary>
/// Every mutant the fuzzer ever flagged, kept as the image it saved (Fuzz/findings/SEED-INDEX.qcow2), run through the
/// engine tier and every tool command again: the fix stays in place even when the mutator changes and the seed no
/// longer makes this mutant.
/// </summary>
[TestFixture]
[Category("fuzz")]
public class FuzzFindingTests
{
    /// <summary>Findings whose image is checked in, with what the finding was.</summary>
    private static readonly (string File, string What)[] Findings =
    [
        // An L2 entry (guest cluster 12) pointing past the end of the file, at a cluster the write then allocated for
        // guest cluster 13: freeing the replaced entry dropped the new data's refcount to 0, and the refcount block
        // that freeing another (4 PiB) entry needed was put there, over the acknowledged data.
        ("3-40780.qcow2", "replaced entry pointing into the new allocation"),
        // An L2 entry pointing at its own L2 table: zeroing it freed that table, the cache dropped it in the middle of
        // the zeroing loop, and the next entry's change failed with KeyNotFoundException text (and would have lost
        // the changes made so far).
        ("3-126250.qcow2", "entry pointing at its own L2 table, zeroed"),
        // An L2 entry at 512 GiB: snapshot -c grows the refcount structures there (as QEMU does, failing with EAGAIN),
        // and the crash-safe plan then copied a dense refcount structure for the whole 512 GiB file, 4.2 million
        // empty blocks (18 s; QEMU 0.6 s; the fuzzer's hang limit is 15 s).
        ("3-445350.qcow2", "L2 entry at 512 GiB, snapshot -c"),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        Findings.Select(f => new TestCaseData(f.File).SetName($"Fuzz_finding_stays_fixed({f.File}: {f.What})"));

    [TestCaseSource(nameof(Cases))]
    public void Fuzz_finding_stays_fixed(string file)
    {
        byte[] image = File.ReadAllBytes(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzz", "findings", file));
        // 30 s per command: each of these takes under a second (QEMU's time), but a loaded CI machine is slow; the
        // slow finding (18 s on an idle machine) is held by what it writes, in the test below, not by a clock.
        using var runner = new FuzzRunner(TimeSpan.FromSeconds(30));
        var (findings, _) = runner.RunAll(image, (kind, command, detail) => new FuzzFinding(kind, 0, file, "", command, detail), tools: true);
        Assert.That(findings, Is.Empty, string.Join("\n", findings));
    }

    /// <summary>
    /// Mutant 445350 by what snapshot -c writes, which does not depend on the machine's speed: QEMU writes about 60 MB
    /// there (the refcount table it grows to 512 GiB and its blocks); the dense crash-safe copy wrote 2.2 GB.
    /// </summary>
    [Test]
    public void Snapshot_c_on_an_entry_at_512_GiB_writes_what_qemu_writes()
    {
        using var dir = new Support.TempDir("fuzz-finding");
        string path = dir.PathOf("t.img");
        File.Copy(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzz", "findings", "3-445350.qcow2"), path);
        var storage = new Support.CountingStorage(new Qcow2.Storage.FileStorage(path, readOnly: false));
        using (var img = Qcow2Image.Open(storage, "t.img", new Qcow2.Block.OpenOptions { Format = "qcow2" }))
        {
            Assert.Throws<BlockIOException>(() => img.CreateSnapshot("fz"));
        }
        Assert.That(storage.Written, Is.LessThan(128L << 20), $"{storage.Written} bytes written");
    }
}
