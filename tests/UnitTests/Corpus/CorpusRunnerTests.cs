using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>
/// The runner's classification: a deliberately wrong adapter (a shell script around our own qimg adapter) is caught
/// in each class, and the honest adapter passes.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CorpusRunnerTests
{
    private const string Valid = "y_zero_after_compressed", Invalid = "n_hostile_magic-wrong", Either = "i_hostile_truncated-before-l1";
    private TempDir _tmp = null!;

    [OneTimeSetUp]
    public void Build()
    {
        _tmp = new TempDir("corpus-runner");
        Generator.Generate(_tmp.Sub("cases"), c => c is Valid or Invalid or Either, TextWriter.Null);
    }

    [OneTimeTearDown]
    public void Clean() => _tmp.Dispose();

    /// <summary>Writes a bash adapter whose body runs with $1 the image and $BASE our qimg adapter.</summary>
    private Adapter Fake(string name, string body)
    {
        string path = _tmp.Script(name, $"#!/usr/bin/env bash\nBASE={CorpusPaths.Adapter("qimg")}\n{body}\n");
        return new Adapter(name, [path]);
    }

    /// <summary>Our adapter's output with a change made by a dd command on the file $out.</summary>
    private Adapter Patched(string name, string dd) =>
        Fake(name, $"out=$(mktemp); \"$BASE\" \"$1\" > \"$out\"; {dd} of=\"$out\" conv=notrunc status=none; cat \"$out\"; rm -f \"$out\"");

    private CaseResult Run(string caseName, Adapter a, double timeoutSeconds = 30)
    {
        var sidecar = Sidecar.Parse(File.ReadAllText(Path.Combine(CorpusPaths.Expected, caseName + ".json")));
        string image = Path.Combine(_tmp.PathOf("cases"), caseName + ".qcow2");
        var r = Runner.RunOne(image, caseName, sidecar, a, new Bounds(TimeSpan.FromSeconds(timeoutSeconds), 4L << 30));
        TestContext.Out.WriteLine($"{a.Name} on {caseName}: {r.Outcome.Name()} ({r.Detail})");
        return r;
    }

    [Test]
    public void Our_adapter_passes_each_prefix()
    {
        var ours = new Adapter("ours", [CorpusPaths.Adapter("qimg")]);
        Assert.That(Run(Valid, ours).Outcome, Is.EqualTo(Outcome.Pass));
        Assert.That(Run(Invalid, ours), Has.Property("Outcome").EqualTo(Outcome.Pass).And.Property("Detail").EqualTo("refused"));
        Assert.That(Run(Either, ours).Outcome, Is.EqualTo(Outcome.Pass));
    }

    [Test]
    public void A_changed_byte_is_wrong_data_in_its_extent()
    {
        var r = Run(Valid, Patched("wrong", "printf X | dd bs=1 seek=100"));
        Assert.That(r.Outcome, Is.EqualTo(Outcome.WrongData));
        Assert.That(r.Detail, Does.StartWith("extent 0+131072"));
    }

    [Test]
    public void A_missing_byte_is_wrong_data()
    {
        var r = Run(Valid, Fake("short", "\"$BASE\" \"$1\" | head -c 1000"));
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.WrongData).And.Property("Detail").EqualTo("1000 bytes, expected 16777216"));
    }

    [Test]
    public void The_header_where_the_guest_reads_zeros_is_leaked_metadata()
    {
        var r = Run(Valid, Patched("leak-header", "dd if=\"$1\" bs=512 count=1 seek=256"));
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.LeakedMetadata).And.Property("Detail").Contains("magic at guest offset 131072"));
    }

    [Test]
    public void A_refcount_block_where_the_guest_reads_zeros_is_leaked_metadata()
    {
        var r = Run(Valid, Patched("leak-refcounts", "dd if=\"$1\" bs=512 skip=256 count=1 seek=300"));
        Assert.That(r.Outcome, Is.EqualTo(Outcome.LeakedMetadata));
        Assert.That(r.Detail, Is.EqualTo("guest offset 153600 (zeros for QEMU) holds image file bytes from offset 131072"));
    }

    [Test]
    public void Leaking_on_an_i_case_fails_too()
    {
        var r = Run(Either, Fake("leak-i", "head -c 512 \"$1\"; head -c 1000000 /dev/zero"));
        Assert.That(r.Outcome, Is.EqualTo(Outcome.LeakedMetadata));
    }

    [Test]
    public void Refusing_a_y_case_is_refused_valid()
    {
        var r = Run(Valid, Fake("refuse", "echo 'cannot read this' >&2; exit 1"));
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.RefusedValid).And.Property("Detail").EqualTo("exit 1: cannot read this"));
    }

    [Test]
    public void Reading_an_n_case_is_accepted_invalid()
    {
        var r = Run(Invalid, Fake("accept", "head -c 1048576 /dev/zero"));
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.AcceptedInvalid).And.Property("Detail").EqualTo("read 1048576 bytes"));
    }

    [Test]
    public void A_segmentation_fault_is_a_crash()
    {
        var r = Run(Valid, Fake("segv", "kill -SEGV $$"));
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.Crash).And.Property("Detail").StartsWith("exit 139 (signal 11)"));
    }

    [Test]
    public void A_crash_on_an_n_case_is_still_a_crash()
    {
        Assert.That(Run(Invalid, Fake("abort", "kill -ABRT $$")).Outcome, Is.EqualTo(Outcome.Crash));
    }

    [Test]
    public void A_hang_is_a_timeout()
    {
        var r = Run(Valid, Fake("hang", "head -c 4096 /dev/zero; sleep 30"), timeoutSeconds: 1);
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.Timeout).And.Property("Detail").EqualTo("after 4096 bytes"));
        Assert.That(r.Seconds, Is.LessThan(10));
    }
}
