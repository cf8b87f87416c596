using Qcow2.Corpus;

namespace Qcow2.UnitTests.Corpus;

/// <summary>
/// The checked-in sidecars are QEMU's word: regenerating them from real QEMU gives the same files, and QEMU's verdict
/// agrees with each case's prefix (y_ read, n_ refused).
/// </summary>
[TestFixture]
[Category("corpus")]
[Category("slow")]
public sealed class CorpusSidecarTests
{
    [Test]
    public void Sidecars_regenerated_from_qemu_equal_the_checked_in_ones()
    {
        ToolProcess.Require("qemu-img");
        using var tmp = new TempDir("corpus-sidecars");
        string expected = tmp.Sub("expected");
        var err = new StringWriter();
        int rc = CorpusPaths.Reading(cases => CorpusCommand.Execute(["expect", cases, expected], TextWriter.Null, err));
        Assert.That(rc, Is.EqualTo(0), err.ToString());
        foreach (var c in Generator.Cases)
        {
            string mine = File.ReadAllText(Path.Combine(expected, c.Name + ".json"));
            string checkedIn = File.ReadAllText(Path.Combine(CorpusPaths.Expected, c.Name + ".json"));
            Assert.That(mine, Is.EqualTo(checkedIn), c.Name);
        }
    }
}
