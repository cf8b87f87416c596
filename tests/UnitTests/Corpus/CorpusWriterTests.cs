using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>
/// The writer contract: QEMU's and our writer (in-process; the qimg-writer adapter as processes on two cases) pass every
/// writer case (checked with QEMU), and a deliberately wrong writer is caught in each class: one that writes in place
/// without overlap checks overwrites metadata, one that drops writes gives wrong data, one that breaks a refcount fails the check, one killed by a signal crashes, a slow
/// one times out.
/// </summary>
[TestFixture]
[Category("corpus")]
public sealed class CorpusWriterTests
{
    private const string Plain = "w_overwrite_part", Overlap = "w_overlap_active_l1";
    private TempDir _tmp = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        Support.ToolProcess.Require("qemu-img", "qemu-io");
        _tmp = new TempDir("corpus-writers");
    }

    [OneTimeTearDown]
    public void TearDown() => _tmp?.Dispose();

    /// <summary>Our writer, in-process (the qimg-writer adapter's create and write, without a process start each).</summary>
    private static Adapter Ours() => new("ours", [WriterRunner.InProcessWriter]);

    /// <summary>Our writer adapter on the tools built with this test assembly (Debug or Release).</summary>
    private static Adapter OursAsProcesses()
    {
        string config = TestContext.CurrentContext.TestDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        string Tool(string name) => Path.Combine(CorpusPaths.Root, "tools", name, "bin", config, "net10.0", name);
        return new Adapter("ours", ["env", "QIMG=" + Tool("qimg"), "QIO=" + Tool("qio"), CorpusPaths.Adapter("qimg-writer")]);
    }

    /// <summary>A writer that creates with qemu-img and runs body for 'write' ($2 image, $3 pattern, $4 offset, $5 length).</summary>
    private Adapter Fake(string name, string body) => new(name, [_tmp.Script(name,
        $"#!/usr/bin/env bash\nif [ \"$1\" = create ]; then exec qemu-img create -q -f qcow2 \"$2\" \"$3\"; fi\n{body}\n")]);

    private CaseResult Run(string name, Adapter a, double timeoutSeconds = 60)
    {
        var c = WriterCases.All.Single(w => w.Name == name);
        string dir = Path.Combine(_tmp.Path, a.Name + "-" + name);
        Directory.CreateDirectory(dir);
        var r = WriterRunner.RunOne(dir, c, a, new Bounds(TimeSpan.FromSeconds(timeoutSeconds), 0));
        TestContext.Out.WriteLine($"{a.Name} on {name}: {r.Outcome.Name()} ({r.Detail})");
        return r;
    }

    private static IEnumerable<string> Cases() => WriterCases.All.Select(c => c.Name);

    [TestCaseSource(nameof(Cases))]
    public void Qemu_passes(string name) =>
        Assert.That(Run(name, new Adapter("qemu", [CorpusPaths.Adapter("qemu-writer")])).Outcome, Is.EqualTo(Outcome.Pass));

    [TestCaseSource(nameof(Cases))]
    public void Ours_passes(string name) => Assert.That(Run(name, Ours()).Outcome, Is.EqualTo(Outcome.Pass));

    /// <summary>The shipped qimg-writer adapter itself (qimg and qio processes), on a plain and an overlap case.</summary>
    [TestCase(Plain)]
    [TestCase(Overlap)]
    public void Ours_passes_as_processes(string name) => Assert.That(Run(name, OursAsProcesses()).Outcome, Is.EqualTo(Outcome.Pass));

    [Test]
    public void A_writer_without_overlap_checks_overwrites_metadata()
    {
        var r = Run(Overlap, new Adapter("naive", [CorpusPaths.Adapter("raw-writer")]));
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.OverwroteMetadata).And.Property("Detail").EqualTo("metadata byte at 0x30000 changed"));
    }

    /// <summary>Wrong writers: the body of their 'write' verb, the class and the detail the runner must give.</summary>
    private static readonly (string Name, string Body, Outcome Outcome, string Detail)[] WrongWriters =
    [
        // Drops the 8 KiB write.
        ("lossy", "[ \"$5\" = 8192 ] && exit 0\nexec qemu-io -f qcow2 -c \"write -q -P $3 $4 $5\" \"$2\"",
            Outcome.WrongData, "guest byte 0x1000 is 0xa3, not 0xa4"),
        // After the write, sets the refcount of the header cluster to 0.
        ("breaks-refcounts", "qemu-io -f qcow2 -c \"write -q -P $3 $4 $5\" \"$2\" || exit 1\nprintf '\\0\\0' | dd of=\"$2\" bs=1 seek=131072 conv=notrunc status=none",
            Outcome.CheckFailed, "qemu-img check exit 2"),
        ("refuses", "echo 'write failed: Operation not permitted' >&2; exit 1", Outcome.RefusedValid, "Operation not permitted"),
    ];

    private static IEnumerable<TestCaseData> Wrong() => WrongWriters.Select(w => new TestCaseData(w.Name, w.Body, w.Outcome, w.Detail).SetName($"A_wrong_writer_is_caught({w.Name})"));

    [TestCaseSource(nameof(Wrong))]
    public void A_wrong_writer_is_caught(string name, string body, Outcome outcome, string detail)
    {
        var r = Run(Plain, Fake(name, body));
        Assert.That(r, Has.Property("Outcome").EqualTo(outcome).And.Property("Detail").Contains(detail));
    }

    [Test]
    public void A_killed_writer_is_a_crash_and_a_slow_one_a_timeout()
    {
        Assert.That(Run(Plain, Fake("killed", "kill -9 $$")).Outcome, Is.EqualTo(Outcome.Crash));
        Assert.That(Run(Plain, Fake("slow", "sleep 30"), timeoutSeconds: 2).Outcome, Is.EqualTo(Outcome.Timeout));
    }
}
