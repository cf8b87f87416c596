using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>
/// The whole corpus against our qimg and libqcow, as CI runs it: ours must pass every case; libqcow's results are
/// printed (the published matrix is docs/corpus-results.md) and must merely complete. Ours runs in-process
/// (inproc:qimg: the qimg adapter's convert without 231 process start-ups; CorpusRunnerTests runs the qimg adapter
/// itself), and the limit is 3 s, not 60: libqcow spins on y_backing_shorter_than_overlay until it is cut off, a core
/// lost for the whole limit, while ours takes at most 0.3 s on any case on an idle two-core machine. QEMU's column is not run again
/// here: CorpusSidecarTests asks QEMU 7.2 about every case and must get exactly the checked-in sidecars, which is
/// what passing every case means for QEMU (and more: its error lines too), and CorpusRunnerTests runs the qemu adapter.
/// </summary>
[TestFixture]
[Category("corpus")]
[Category("slow")]
public sealed class CorpusMatrixTests
{
    [Test]
    public void Ours_passes_every_case_and_libqcow_runs()
    {
        ToolProcess.Require("qemu-img");
        if (!File.Exists("/usr/bin/python3") || ToolProcess.TryRun("/usr/bin/python3", Path.GetTempPath(), ["-c", "import pyqcow"])?.ExitCode != 0)
        {
            QemuRequired.Missing("python3-libqcow");
        }
        using var tmp = new TempDir("corpus-matrix");
        var output = new StringWriter();
        string md = tmp.PathOf("matrix.md"), json = tmp.PathOf("matrix.json");
        int rc = CorpusPaths.Reading(cases => CorpusCommand.Execute(
            ["run", cases, CorpusPaths.Expected, "--md", md, "--json", json, "--timeout", "3",
             $"ours={InProcessReader.Command}", $"libqcow={CorpusPaths.Adapter("libqcow")}"],
            output, TextWriter.Null));
        TestContext.Out.WriteLine(output.ToString());
        Assert.That(rc, Is.EqualTo(0));
        string matrix = File.ReadAllText(md);
        int n = Generator.Cases.Count;
        Assert.That(output.ToString(), Does.Contain($"ours: {n} passed, 0 failed"), matrix);
        Assert.That(output.ToString(), Does.Match(@"libqcow: \d+ passed, \d+ failed"));
    }
}
