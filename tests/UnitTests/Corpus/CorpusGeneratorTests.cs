using System.Security.Cryptography;
using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>The corpus generator: deterministic bytes, enough cases of each kind, one checked-in sidecar per case.</summary>
[TestFixture]
public sealed class CorpusGeneratorTests
{
    /// <summary>The SHA-256 of every file, except the LUKS images, whose key material is random by design.</summary>
    private static Dictionary<string, string> Digests(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Where(f => !EncryptionCases.RandomKeyMaterial(Path.GetFileName(f)))
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Test]
    [Category("slow")]
    public void Generating_again_writes_the_same_bytes()
    {
        // In a folder of its own, then compared with the generation the matrix and sidecar tests share (CorpusPaths):
        // generating into that one would have to wait until they are done. A case whose bytes name its folder (an
        // absolute backing or data-file path) differs between the two folders by design; the tests below generate those
        // twice in one folder.
        using var tmp = new TempDir("corpus-determinism");
        string dir = tmp.Sub("cases");
        int n = Generator.Generate(dir, null, TextWriter.Null);
        Assert.That(n, Is.EqualTo(Generator.Cases.Count));
        Assert.That(Directory.GetFiles(dir, "*.qcow2"), Has.Length.EqualTo(n));
        var mine = Digests(dir);
        var named = mine.Keys.Where(f => NamesFolder(Path.Combine(dir, f), dir)).ToHashSet();
        Assert.That(named, Has.All.Matches<string>(f => f.StartsWith("y_backing", StringComparison.Ordinal) || f.Contains("_data_file", StringComparison.Ordinal)),
            "a case that names its folder is left to the tests that generate twice in one folder");
        var shared = CorpusPaths.Reading(Digests);
        Assert.That(mine.Where(kv => !named.Contains(kv.Key)), Is.EquivalentTo(shared.Where(kv => !named.Contains(kv.Key))));
    }

    /// <summary>Whether a file's bytes hold the path of the folder it was generated in.</summary>
    private static bool NamesFolder(string file, string dir) =>
        File.ReadAllBytes(file).AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(dir))) >= 0;

    [Test]
    public void Generating_the_chains_snapshots_and_compressed_cases_twice_writes_the_same_bytes()
    {
        using var tmp = new TempDir("corpus-determinism-fast");
        string dir = tmp.Sub("cases");
        static bool Some(string c) => c.StartsWith("y_backing", StringComparison.Ordinal) || c.StartsWith("y_snapshot", StringComparison.Ordinal)
            || c.StartsWith("y_compressed", StringComparison.Ordinal) || c.StartsWith("y_bitmap", StringComparison.Ordinal);
        int n = Generator.Generate(dir, Some, TextWriter.Null);
        var first = Digests(dir);
        Generator.Generate(dir, Some, TextWriter.Null);
        Assert.That(n, Is.GreaterThan(20));
        Assert.That(Digests(dir), Is.EqualTo(first));
    }

    [Test]
    public void Generating_the_extended_l2_data_file_and_aes_cases_twice_writes_the_same_bytes()
    {
        using var tmp = new TempDir("corpus-determinism-ext");
        string dir = tmp.Sub("cases");
        static bool Some(string c) => (c.Contains("_extended_l2", StringComparison.Ordinal) || c.Contains("_data_file", StringComparison.Ordinal)
            || c.Contains("_encrypt_aes", StringComparison.Ordinal)) && !c.Contains("_encrypt_luks", StringComparison.Ordinal);
        int n = Generator.Generate(dir, Some, TextWriter.Null);
        var first = Digests(dir);
        Generator.Generate(dir, Some, TextWriter.Null);
        Assert.That(n, Is.GreaterThan(25));
        Assert.That(first.Keys.Count(f => f.EndsWith(".qcow2", StringComparison.Ordinal) && !f.Contains(Path.DirectorySeparatorChar)), Is.EqualTo(n));
        Assert.That(Digests(dir), Is.EqualTo(first));
    }

    [Test]
    public void Encrypted_cases_carry_their_secret_and_luks_ones_alone_are_left_out_of_the_byte_comparison()
    {
        var encrypted = Generator.Cases.Where(c => c.Name.Contains("_encrypt_", StringComparison.Ordinal)).ToList();
        Assert.That(encrypted, Has.Count.GreaterThanOrEqualTo(10));
        Assert.That(encrypted.Where(c => c.Name[0] == 'y').All(c => c.Secret == EncryptionCases.Secret));
        Assert.That(Generator.Cases.Where(c => EncryptionCases.RandomKeyMaterial(c.ImageFile)).Select(c => c.Name),
            Is.EquivalentTo(encrypted.Where(c => c.Name.Contains("_luks", StringComparison.Ordinal)).Select(c => c.Name)));
    }

    [Test]
    public void Snapshot_cases_do_not_depend_on_the_clock()
    {
        using var tmp = new TempDir("corpus-clock");
        Generator.Generate(tmp.Sub("a"), c => c == "y_snapshot_one", TextWriter.Null);
        Thread.Sleep(1100);
        Generator.Generate(tmp.Sub("b"), c => c == "y_snapshot_one", TextWriter.Null);
        Assert.That(Digests(tmp.PathOf("b")), Is.EqualTo(Digests(tmp.PathOf("a"))));
    }

    [Test]
    public void The_corpus_has_at_least_150_cases_of_every_prefix()
    {
        var names = Generator.Cases.Select(c => c.Name).ToList();
        Assert.That(names, Has.Count.GreaterThanOrEqualTo(150));
        Assert.That(names, Is.Unique);
        Assert.That(names.All(n => n.StartsWith("y_", StringComparison.Ordinal) || n.StartsWith("n_", StringComparison.Ordinal) || n.StartsWith("i_", StringComparison.Ordinal)));
        foreach (char p in "yni")
        {
            Assert.That(names.Count(n => n[0] == p), Is.GreaterThanOrEqualTo(10), $"{p}_ cases");
        }
    }

    [Test]
    public void Every_case_has_a_checked_in_sidecar_and_every_sidecar_a_case()
    {
        var sidecars = Directory.GetFiles(CorpusPaths.Expected, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal);
        Assert.That(sidecars, Is.EqualTo(Generator.Cases.Select(c => c.Name)));
    }

    [Test]
    public void Every_hostile_catalogue_row_is_a_case()
    {
        var hostile = Generator.Cases.Where(c => c.Name.Contains("_hostile_", StringComparison.Ordinal)).Select(c => c.Name[10..]);
        Assert.That(hostile, Is.EquivalentTo(Qcow2.Corpus.Hostile.HostileCatalogue.All.Keys));
    }
}
