using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qimg rebase against qemu-img 7.2 rebase: the rewritten files must be byte-identical, outputs equal.</summary>
[TestFixture]
public sealed class RebaseCommandTests : CommitRebaseCompareFixture
{
    /// <summary>The backing file of each image of MakeChain that has one.</summary>
    private static readonly Dictionary<string, string> BackingOf = new(StringComparer.Ordinal)
    {
        ["mid.qcow2"] = "base.qcow2", ["top.qcow2"] = "mid.qcow2", ["top512.qcow2"] = "mid.qcow2", ["top2m.qcow2"] = "mid.qcow2",
        ["topv2.qcow2"] = "mid.qcow2", ["overraw.qcow2"] = "data.raw",
    };

    /// <summary>
    /// Runs a rebase with both tools on copies of the chain files it can open (the image's chain and the new backing
    /// file's chain; names outside MakeChain's files are left out) and asserts equal outputs and byte-identical files.
    /// Copying the other chain files too only wrote and compared files neither tool opens.
    /// </summary>
    private (string Qemu, string Ours) AssertSameRebase(params string[] args)
    {
        string image = args[^1].StartsWith("driver=", StringComparison.Ordinal) ? args[^1].Split("file.filename=")[1] : args[^1];
        int b = Array.IndexOf(args, "-b");
        var files = new List<string>();
        foreach (string root in b >= 0 && b + 1 < args.Length ? [image, args[b + 1]] : new[] { image })
        {
            for (string? f = root; f is not null && !files.Contains(f) && (BackingOf.ContainsKey(f) || BackingOf.ContainsValue(f) || f == "small.qcow2");
                 f = BackingOf.GetValueOrDefault(f))
            {
                files.Add(f);
            }
        }
        string[] copied = [.. files];
        return AssertSameOnCopies(copied, copied, args);
    }

    [Test]
    public void Unsafe_rebase_rewrites_the_header_as_qemu_img_does()
    {
        MakeChain();
        foreach (string image in new[] { "top.qcow2", "topv2.qcow2" })
        {
            AssertSameRebase("rebase", "-u", "-b", "renamed.qcow2", "-F", "qcow2", image);
            AssertSameRebase("rebase", "-u", "-b", "data.raw", "-F", "raw", image);
            AssertSameRebase("rebase", "-u", "-b", "disk.vmdk", "-F", "vmdk", image);
            AssertSameRebase("rebase", "-u", "-b", "", image);
            AssertSameRebase("rebase", "-u", image);
            AssertSameRebase("rebase", "-u", "-b", "renamed.qcow2", image);
            AssertSameRebase("rebase", "-u", "-b", new string('n', 1100), "-F", "qcow2", image);
        }
    }

    [Test]
    public void Unsafe_rebase_changes_nothing_but_the_backing_file()
    {
        MakeChain();
        var (_, ours) = AssertSameRebase("rebase", "-u", "-b", "small.qcow2", "-F", "qcow2", "top.qcow2");
        ToolRun info = Qemu("qemu-img", ours, "info", "top.qcow2");
        Assert.That(info.Out, Does.Contain("backing file: small.qcow2\n").And.Contain("backing file format: qcow2\n"));
    }

    [Test]
    public void Unsafe_rebase_renames_a_missing_backing_file_and_safe_rebase_refuses()
    {
        MakeChain();
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "gone.qcow2", "-F", "qcow2", "orphan.qcow2", "8M");
        string[] files = ["base.qcow2", "orphan.qcow2"];
        AssertSameOnCopies(files, files, "rebase", "-u", "-b", "base.qcow2", "-F", "qcow2", "orphan.qcow2");
        AssertSameOnCopies(files, files, "rebase", "-b", "base.qcow2", "-F", "qcow2", "orphan.qcow2");
        AssertSameRun("compare", "orphan.qcow2", "base.qcow2");
    }

    [TestCase("top.qcow2")]
    [TestCase("top512.qcow2")]
    [TestCase("top2m.qcow2")]
    [TestCase("topv2.qcow2")]
    [TestCase("overraw.qcow2")]
    public void Safe_rebase_writes_the_clusters_qemu_img_writes(string image)
    {
        MakeChain();
        AssertSameRebase("rebase", "-b", "base.qcow2", "-F", "qcow2", image);
        AssertSameRebase("rebase", "-b", "small.qcow2", "-F", "qcow2", image);
        AssertSameRebase("rebase", "-b", "data.raw", "-F", "raw", image);
        AssertSameRebase("rebase", "-b", "mid.qcow2", "-F", "qcow2", image);
        AssertSameRebase("rebase", "-p", "-b", "", image);
    }

    [Test]
    public void Safe_rebase_keeps_the_guest_data()
    {
        MakeChain();
        var (_, ours) = AssertSameRebase("rebase", "-b", "small.qcow2", "-F", "qcow2", "top.qcow2");
        File.Copy(PathOf("top.qcow2"), PathOf("before.qcow2"));
        ToolRun r = Qemu("qemu-img", null, "compare", "before.qcow2", Path.Combine(ours, "top.qcow2"));
        Assert.That(r.Out, Is.EqualTo("Images are identical.\n"), r.ToString());
    }

    [Test]
    public void Safe_rebase_relative_to_the_overlay_folder_matches()
    {
        MakeChain();
        SubDir("sub");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "../base.qcow2", "-F", "qcow2", "sub/low.qcow2");
        Sh("qemu-io", "-c", "write -P 3 1M 1000k", "sub/low.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "low.qcow2", "-F", "qcow2", "sub/high.qcow2");
        Sh("qemu-io", "-c", "write -P 4 1536k 7k", "sub/high.qcow2");
        string[] files = ["base.qcow2", "small.qcow2", "sub/low.qcow2", "sub/high.qcow2"];
        AssertSameOnCopies(files, files, "rebase", "-b", "../small.qcow2", "-F", "qcow2", "sub/high.qcow2");
        AssertSameOnCopies(files, files, "rebase", "-b", "../base.qcow2", "-F", "qcow2", "sub/high.qcow2");
        AssertSameOnCopies(files, files, "rebase", "-b", "", "sub/high.qcow2");
    }

    [Test]
    public void Rebase_errors_match()
    {
        MakeChain();
        AssertSameRebase("rebase", "-b", "small.qcow2", "top.qcow2");
        AssertSameRebase("rebase", "-p", "-b", "small.qcow2", "top.qcow2");
        AssertSameRebase("rebase", "-p", "-b", "nonexist.qcow2", "-F", "qcow2", "top.qcow2");
        AssertSameRebase("rebase", "-b", "nonexist.qcow2", "-F", "qcow2", "top.qcow2");
        AssertSameRebase("rebase", "-b", "small.qcow2", "-F", "vmdk9", "top.qcow2");
        AssertSameRebase("rebase", "-f", "raw", "-b", "", "data.raw");
        AssertSameRebase("rebase", "-t", "bogus", "-b", "", "top.qcow2");
        AssertSameRebase("rebase", "-T", "bogus", "-b", "", "top.qcow2");
        AssertSameRebase("rebase", "--image-opts", "-f", "qcow2", "-b", "", "driver=qcow2,file.filename=top.qcow2");
        AssertSameRun("rebase", "top.qcow2");
        AssertSameRun("rebase", "-b", "x");
        AssertSameRun("rebase", "-b", "x", "nonexist");
        AssertSameRun("rebase", "-c", "-b", "x", "top.qcow2");
        AssertSameRun("rebase", "-b");
    }
}
