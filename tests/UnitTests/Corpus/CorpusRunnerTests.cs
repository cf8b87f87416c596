using NUnit.Framework.Constraints;
using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>
/// The runner's classification: a deliberately wrong adapter (a shell script around our own qimg adapter) is caught
/// in each class, and the honest adapter passes.
/// </summary>
[TestFixture]
public sealed class CorpusRunnerTests
{
    private const string Valid = "y_zero_after_compressed", Invalid = "n_hostile_magic-wrong", Either = "i_hostile_truncated-before-l1";
    private const string Encrypted = "y_encrypt_aes", WrongSecret = "n_encrypt_luks_wrong_secret";
    private TempDir _tmp = null!;

    [OneTimeSetUp]
    public void Build()
    {
        _tmp = new TempDir("corpus-runner");
        Generator.Generate(_tmp.Sub("cases"), c => c is Valid or Invalid or Either or Encrypted or WrongSecret, TextWriter.Null);
    }

    [OneTimeTearDown]
    public void Clean() => _tmp.Dispose();

    /// <summary>Writes a bash adapter whose body runs with $1 the image and $BASE our qimg adapter.</summary>
    private Adapter Fake(string name, string body)
    {
        string path = _tmp.Script(name, $"#!/usr/bin/env bash\nBASE={CorpusPaths.Adapter("qimg")}\n{body}\n");
        return new Adapter(name, [path]);
    }

    /// <summary>An adapter body: our adapter's output with a change made by a dd command on the file $out.</summary>
    private static string Patch(string dd) =>
        $"out=$(mktemp); \"$BASE\" \"$1\" > \"$out\"; {dd} of=\"$out\" conv=notrunc status=none; cat \"$out\"; rm -f \"$out\"";

    private CaseResult Run(string caseName, Adapter a, double timeoutSeconds = 30)
    {
        var sidecar = Sidecar.Parse(File.ReadAllText(Path.Combine(CorpusPaths.Expected, caseName + ".json")));
        string image = Path.Combine(_tmp.PathOf("cases"), caseName + ".qcow2");
        var r = Runner.RunOne(image, caseName, sidecar, a, new Bounds(TimeSpan.FromSeconds(timeoutSeconds), 4L << 30));
        TestContext.Out.WriteLine($"{a.Name} on {caseName}: {r.Outcome.Name()} ({r.Detail})");
        return r;
    }

    /// <summary>An adapter shipped in tests/Corpus/adapters (the qemu one needs qemu-img).</summary>
    private static Adapter Shipped(string name)
    {
        if (name == "qemu")
        {
            ToolProcess.Require("qemu-img");
        }
        return new Adapter(name, [CorpusPaths.Adapter(name)]);
    }

    /// <summary>The shipped adapters of the two readers that pass every case (the whole corpus runs ours in CorpusMatrixTests).</summary>
    [TestCase("qimg")]
    [TestCase("qemu")]
    public void The_adapter_passes_each_prefix(string name)
    {
        var adapter = Shipped(name);
        Assert.That(Run(Valid, adapter).Outcome, Is.EqualTo(Outcome.Pass));
        Assert.That(Run(Invalid, adapter), Has.Property("Outcome").EqualTo(Outcome.Pass).And.Property("Detail").EqualTo("refused"));
        Assert.That(Run(Either, adapter).Outcome, Is.EqualTo(Outcome.Pass));
    }

    [TestCase("qimg")]
    [TestCase("qemu")]
    public void The_sidecar_secret_reaches_the_adapter(string name)
    {
        var adapter = Shipped(name);
        Assert.That(Run(Encrypted, adapter).Outcome, Is.EqualTo(Outcome.Pass));
        Assert.That(Run(WrongSecret, adapter), Has.Property("Outcome").EqualTo(Outcome.Pass).And.Property("Detail").EqualTo("refused"));
    }

    /// <summary>A wrong adapter per row: the case it reads, its bash body, and the outcome (and detail) the runner gives it.</summary>
    private static IEnumerable<TestCaseData> WrongAdapters()
    {
        TestCaseData Row(string test, string caseName, string adapter, string body, Outcome outcome, IResolveConstraint? detail = null) =>
            new TestCaseData(caseName, adapter, body, outcome, detail).SetName(test);

        yield return Row("An_adapter_that_drops_the_secret_refuses_a_valid_encrypted_case", Encrypted, "no-secret",
            $"env -u {Runner.SecretVariable} \"$BASE\" \"$1\"", Outcome.RefusedValid, Does.Contain("key-secret"));
        yield return Row("A_changed_byte_is_wrong_data_in_its_extent", Valid, "wrong", Patch("printf X | dd bs=1 seek=100"),
            Outcome.WrongData, Does.StartWith("extent 0+131072"));
        yield return Row("A_missing_byte_is_wrong_data", Valid, "short", "\"$BASE\" \"$1\" | head -c 1000",
            Outcome.WrongData, Is.EqualTo("1000 bytes, expected 16777216"));
        yield return Row("The_header_where_the_guest_reads_zeros_is_leaked_metadata", Valid, "leak-header", Patch("dd if=\"$1\" bs=512 count=1 seek=256"),
            Outcome.LeakedMetadata, Does.Contain("magic at guest offset 131072"));
        yield return Row("A_refcount_block_where_the_guest_reads_zeros_is_leaked_metadata", Valid, "leak-refcounts",
            Patch("dd if=\"$1\" bs=512 skip=256 count=1 seek=300"),
            Outcome.LeakedMetadata, Is.EqualTo("guest offset 153600 (zeros for QEMU) holds image file bytes from offset 131072"));
        yield return Row("Leaking_on_an_i_case_fails_too", Either, "leak-i", "head -c 512 \"$1\"; head -c 1000000 /dev/zero", Outcome.LeakedMetadata);
        yield return Row("Refusing_a_y_case_is_refused_valid", Valid, "refuse", "echo 'cannot read this' >&2; exit 1",
            Outcome.RefusedValid, Is.EqualTo("exit 1: cannot read this"));
        yield return Row("Reading_an_n_case_is_accepted_invalid", Invalid, "accept", "head -c 1048576 /dev/zero",
            Outcome.AcceptedInvalid, Is.EqualTo("read 1048576 bytes"));
        yield return Row("A_segmentation_fault_is_a_crash", Valid, "segv", "kill -SEGV $$", Outcome.Crash, Does.StartWith("exit 139 (signal 11)"));
        yield return Row("A_crash_on_an_n_case_is_still_a_crash", Invalid, "abort", "kill -ABRT $$", Outcome.Crash);
    }

    [TestCaseSource(nameof(WrongAdapters))]
    public void A_wrong_adapter_is_caught(string caseName, string adapter, string body, Outcome outcome, IResolveConstraint? detail)
    {
        var r = Run(caseName, Fake(adapter, body));
        Assert.That(r.Outcome, Is.EqualTo(outcome));
        if (detail is not null)
        {
            Assert.That(r.Detail, detail);
        }
    }

    [Test]
    public void A_hang_is_a_timeout()
    {
        var r = Run(Valid, Fake("hang", "head -c 4096 /dev/zero; sleep 30"), timeoutSeconds: 1);
        Assert.That(r, Has.Property("Outcome").EqualTo(Outcome.Timeout).And.Property("Detail").EqualTo("after 4096 bytes"));
        Assert.That(r.Seconds, Is.LessThan(10));
    }
}
