using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>Where the corpus lives in this clone: its checked-in sidecars and adapters.</summary>
internal static class CorpusPaths
{
    /// <summary>The clone's root (the folder holding Qcow2Overlap.slnx), found upwards from the test binaries.</summary>
    public static string Root
    {
        get
        {
            for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Qcow2Overlap.slnx")))
                {
                    return d.FullName;
                }
            }
            throw new DirectoryNotFoundException("Qcow2Overlap.slnx not found above the test binaries");
        }
    }

    /// <summary>The checked-in sidecars.</summary>
    public static string Expected => Path.Combine(Root, "tests", "Corpus", "expected");

    /// <summary>An adapter shipped with the corpus.</summary>
    public static string Adapter(string name) => Path.Combine(Root, "tests", "Corpus", "adapters", name);

    private static readonly Lazy<string> WholeCorpus = new(() =>
    {
        var dir = new TempDir("corpus-whole");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        string cases = dir.Sub("cases");
        Generator.Generate(cases, null, TextWriter.Null);
        return cases;
    });

    /// <summary>
    /// Runs body on the whole corpus, generated once per test run for the tests that only read it (the matrix, the
    /// sidecars): a generation builds every case with our tools and QEMU's.
    /// </summary>
    public static T Reading<T>(Func<string, T> body) => body(WholeCorpus.Value);
}
