using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// qimg commit against qemu-img 7.2 commit: outputs, the emptied top and the filled base byte-identical where QEMU's
/// own result is repeatable, guest data and consistency where it is not (several concurrent copies that allocate).
/// </summary>
[TestFixture]
public sealed class CommitCommandTests : CommitRebaseCompareFixture
{
    private static readonly string[] ChainFiles =
        ["base.qcow2", "mid.qcow2", "top.qcow2", "top512.qcow2", "top2m.qcow2", "topv2.qcow2", "data.raw", "overraw.qcow2"];

    [TestCase("top.qcow2")]
    [TestCase("mid.qcow2")]
    [TestCase("top512.qcow2")]
    [TestCase("top2m.qcow2")]
    [TestCase("topv2.qcow2")]
    [TestCase("overraw.qcow2")]
    public void Commit_fills_the_base_and_empties_the_top_as_qemu_img_does(string image)
    {
        MakeChain();
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", image);
    }

    [Test]
    public void Commit_keeps_the_top_with_d_and_prints_nothing_with_q()
    {
        MakeChain();
        var (_, ours) = AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "-d", "top.qcow2");
        FileBytes.AssertSame(Path.Combine(ours, "top.qcow2"), PathOf("top.qcow2"));
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "-q", "-t", "writethrough", "-r", "1M", "top.qcow2");
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "--image-opts", "driver=qcow2,file.filename=top.qcow2");
    }

    [Test]
    public void Commit_of_an_image_with_snapshots_discards_every_cluster_as_qemu_img_does()
    {
        MakeChain();
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "snap.qcow2");
        Sh("qemu-io", "-c", "write -P 2 100k 5k", "snap.qcow2");
        Sh("qemu-img", "snapshot", "-c", "s1", "snap.qcow2");
        Sh("qemu-io", "-c", "write -P 3 3M 1k", "snap.qcow2");
        string[] files = ["base.qcow2", "snap.qcow2"];
        AssertSameOnCopies(files, files, "commit", "snap.qcow2");
    }

    [Test]
    public void Commit_grows_a_shorter_base()
    {
        MakeChain();
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "long.qcow2", "16M");
        Sh("qemu-io", "-c", "write -P 2 10M 5k", "-c", "write -P 5 100k 5k", "long.qcow2");
        string[] files = ["base.qcow2", "long.qcow2"];
        var (_, ours) = AssertSameOnCopies(files, files, "commit", "long.qcow2");
        Assert.That(Qemu("qemu-img", ours, "info", "base.qcow2").Out, Does.Contain("virtual size: 16 MiB"));
    }

    [Test]
    public void Commit_down_to_a_base_keeps_every_image_consistent()
    {
        MakeChain();
        File.Copy(PathOf("top.qcow2"), PathOf("expected.qcow2"));
        // QEMU's own base differs from run to run here (its copies complete in varying order), so compare contents.
        var (theirs, ours) = AssertSameOnCopies(ChainFiles, ["mid.qcow2", "top.qcow2"], "commit", "-b", "base.qcow2", "top.qcow2");
        AssertCheckClean(Path.Combine(ours, "base.qcow2"), "base after commit -b");
        ToolRun r = Qemu("qemu-img", null, "compare", "-f", "qcow2", "-F", "qcow2", Path.Combine(theirs, "base.qcow2"), Path.Combine(ours, "base.qcow2"));
        Assert.That(r.Out, Is.EqualTo("Images are identical.\n"), r.ToString());
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "-b", "mid.qcow2", "top.qcow2");
    }

    [Test]
    public void Commit_errors_match()
    {
        MakeChain();
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "base.qcow2");
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "-f", "raw", "data.raw");
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "-b", "nonexist", "top.qcow2");
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "-r", "12x", "top.qcow2");
        AssertSameOnCopies(ChainFiles, ChainFiles, "commit", "-t", "bogus", "top.qcow2");
        AssertSameRun("commit", "nonexist");
        AssertSameRun("commit");
        AssertSameRun("commit", "-x", "top.qcow2");
        AssertSameRun("commit", "-b");
    }
}
