using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qimg compare against qemu-img 7.2 compare: messages, exit codes, strict mode, size mismatches, errors.</summary>
[TestFixture]
public sealed class CompareCommandTests : CommitRebaseCompareFixture
{
    /// <summary>Images that read alike or differ in content, allocation, zero flags, holes and size (built once per run).</summary>
    private void MakeImages() => BuiltOnce.Folder("compare-images", Dir, _ => MakeImagesWithQemu());

    private void MakeImagesWithQemu()
    {
        MakeChain();
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "empty.qcow2", "8M");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "zeroflag.qcow2", "8M");
        Sh("qemu-io", "-c", "write -z 0 64k", "zeroflag.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "zerodata.qcow2", "8M");
        Sh("qemu-io", "-c", "write -P 0 0 64k", "zerodata.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "raw", "holes.raw", "8M");
        Sh("qemu-io", "-f", "raw", "-c", "write -P 0 0 64k", "-c", "write -P 5 1M 4k", "holes.raw");
        Sh("qemu-img", "convert", "-O", "qcow2", "holes.raw", "holes.qcow2");
        Sh("qemu-img", "convert", "-O", "qcow2", "top.qcow2", "flat.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata", "prealloc.qcow2", "8M");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "longer.qcow2", "12M");
        Sh("qemu-io", "-c", "write -P 1 10M 4k", "longer.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "longerzero.qcow2", "12M");
        Sh("qemu-io", "-c", "write -z 10M 64k", "longerzero.qcow2");
        File.WriteAllBytes(PathOf("odd.raw"), Enumerable.Range(0, 1_000_000).Select(i => (byte)(i == 999_999 ? 1 : 0)).ToArray());
    }

    private static readonly string[][] Pairs =
    [
        ["top.qcow2", "top.qcow2"], ["base.qcow2", "top.qcow2"], ["top.qcow2", "flat.qcow2"], ["mid.qcow2", "top.qcow2"],
        ["empty.qcow2", "zeroflag.qcow2"], ["empty.qcow2", "zerodata.qcow2"], ["zeroflag.qcow2", "zerodata.qcow2"],
        ["holes.raw", "holes.qcow2"], ["empty.qcow2", "holes.raw"], ["prealloc.qcow2", "empty.qcow2"],
        ["empty.qcow2", "longer.qcow2"], ["longer.qcow2", "empty.qcow2"], ["empty.qcow2", "longerzero.qcow2"],
        ["odd.raw", "empty.qcow2"], ["odd.raw", "odd.raw"], ["data.raw", "overraw.qcow2"], ["top512.qcow2", "top.qcow2"],
    ];

    [Test]
    public void Compare_prints_what_qemu_img_prints_for_every_pair()
    {
        MakeImages();
        foreach (string[] pair in Pairs)
        {
            AssertSameRun(["compare", .. pair]);
            AssertSameRun(["compare", "-s", .. pair]);
        }
    }

    [Test]
    public void Compare_finds_the_first_differing_sector()
    {
        MakeImages();
        ToolRun r = AssertSameRun("compare", "base.qcow2", "top.qcow2");
        Assert.That(r.Out, Is.EqualTo("Content mismatch at offset 1048576!\n"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        r = AssertSameRun("compare", "top.qcow2", "flat.qcow2");
        Assert.That(r.Out, Is.EqualTo("Images are identical.\n"));
        Assert.That(r.ExitCode, Is.EqualTo(0));
    }

    [Test]
    public void Compare_warns_about_sizes_and_strict_mode_refuses_them()
    {
        MakeImages();
        ToolRun r = AssertSameRun("compare", "empty.qcow2", "longerzero.qcow2");
        Assert.That(r.Out, Is.EqualTo("Warning: Image size mismatch!\nImages are identical.\n"));
        r = AssertSameRun("compare", "-s", "empty.qcow2", "longerzero.qcow2");
        Assert.That(r.Out, Is.EqualTo("Strict mode: Image size mismatch!\n"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        r = AssertSameRun("compare", "-s", "empty.qcow2", "zerodata.qcow2");
        Assert.That(r.Out, Does.StartWith("Strict mode: Offset 0 block status mismatch!"));
    }

    [Test]
    public void Compare_options_quiet_progress_formats_and_image_opts_match()
    {
        MakeImages();
        AssertSameRun("compare", "-q", "base.qcow2", "top.qcow2");
        AssertSameRun("compare", "-q", "-s", "empty.qcow2", "longer.qcow2");
        AssertSameRun("compare", "-p", "top.qcow2", "flat.qcow2");
        AssertSameRun("compare", "-p", "base.qcow2", "top.qcow2");
        AssertSameRun("compare", "-p", "empty.qcow2", "longerzero.qcow2");
        AssertSameRun("compare", "-U", "-T", "none", "-f", "qcow2", "-F", "qcow2", "top.qcow2", "flat.qcow2");
        AssertSameRun("compare", "-f", "raw", "-F", "raw", "top.qcow2", "top.qcow2");
        AssertSameRun("compare", "--image-opts", "driver=qcow2,file.filename=top.qcow2", "driver=qcow2,file.filename=base.qcow2");
    }

    [Test]
    public void Compare_errors_match_with_exit_code_2()
    {
        MakeImages();
        Assert.That(AssertSameRun("compare", "nonexist", "top.qcow2").ExitCode, Is.EqualTo(2));
        Assert.That(AssertSameRun("compare", "top.qcow2", "nonexist").ExitCode, Is.EqualTo(2));
        Assert.That(AssertSameRun("compare", "-T", "bogus", "top.qcow2", "top.qcow2").ExitCode, Is.EqualTo(2));
        AssertSameRun("compare", "--image-opts", "-f", "qcow2", "driver=qcow2,file.filename=top.qcow2", "top.qcow2");
        AssertSameRun("compare", "-f", "qcow2", "holes.raw", "holes.raw");
        AssertSameRun("compare", "top.qcow2");
        AssertSameRun("compare", "a", "b", "c");
        AssertSameRun("compare", "-x", "a", "b");
        AssertSameRun("compare", "-f");
    }
}
