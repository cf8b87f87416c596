using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qimg dd against qemu-img 7.2 dd: operands, messages, exit codes and byte-identical raw and qcow2 output (inconclusive without QEMU).</summary>
[TestFixture]
public sealed class DdCommandTests : MeasureDdFixture
{
    /// <summary>Operands tried on every source.</summary>
    private static readonly string[][] Copies =
    [
        ["bs=1M"], ["bs=64k"], ["bs=100k"], ["bs=3000", "count=100", "skip=7"], ["bs=1M", "skip=3", "count=40"],
        ["bs=64k", "count=0"], ["bs=1M", "skip=0"], ["bs=1k", "count=9", "skip=1"], ["bs=1.5M"], ["bs=4M"], ["bs=512k", "skip=999999"],
        ["bs=1000", "count=5", "skip=2"], ["bs=2M", "count=3", "skip=10"],
    ];

    /// <summary>
    /// Whole-input copies whose block size is all that differs from bs=1M and bs=100k: tried only on the small sources
    /// (small.qcow2's 10 MiB and odd.raw's 1000 bytes end in a partial block for each of them). On the 20-64 MiB sources
    /// they read the same clusters the same way as bs=1M, and wrote gigabytes a run.
    /// </summary>
    private static readonly string[][] SmallSourceCopies = [["bs=64k"], ["bs=1M", "skip=0"], ["bs=1.5M"], ["bs=4M"]];

    /// <summary>Operands with small blocks, tried only on the small sources.</summary>
    private static readonly string[][] SmallBlockCopies =
    [
        [], ["skip=1"], ["count=1"], ["bs=0x10", "count=1k"], ["count=9223372036854775807", "bs=2"], ["skip=9223372036854775807", "bs=2"],
        ["bs=1", "skip=999"], ["bs=1", "count=1"],
    ];

    /// <summary>Runs qemu-img dd, keeps its output file, runs qimg dd the same way, and compares streams, exit codes and files.</summary>
    private void AssertSameCopy(string outFormat, string source, string[] operands)
    {
        string output = "out." + outFormat;
        string[] args = ["dd", "-O", outFormat, .. operands, "if=" + source, "of=" + output];
        string what = $"qimg {string.Join(' ', args)} (seed {Seed})";
        RunResult expected = QemuImg(args);
        string kept = "expected." + outFormat;
        bool expectedFile = File.Exists(PathOf(output));
        if (expectedFile)
        {
            File.Move(PathOf(output), PathOf(kept), overwrite: true);
        }
        RunResult actual = Qimg(args);
        Assert.That(actual.Out, Is.EqualTo(expected.Out), $"stdout of {what}");
        Assert.That(actual.Err, Is.EqualTo(expected.Err), $"stderr of {what}");
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), $"exit code of {what}");
        Assert.That(File.Exists(PathOf(output)), Is.EqualTo(expectedFile), $"output file existence of {what}");
        if (expectedFile)
        {
            Assert.That(new FileInfo(PathOf(output)).Length, Is.EqualTo(new FileInfo(PathOf(kept)).Length), $"output length of {what}");
            Assert.That(FileBytes.FirstDifference(PathOf(kept), PathOf(output)), Is.EqualTo(-1), $"first differing byte of the output of {what}");
            File.Delete(PathOf(kept));
        }
        File.Delete(PathOf(output));
    }

    [TestCase("raw")]
    [TestCase("qcow2")]
    public void Dd_output_is_byte_identical_to_qemu_imgs(string outFormat)
    {
        MakeSources();
        foreach (string source in new[] { "odd.raw", "sparse.raw", "top.qcow2", "small.qcow2", "comp.qcow2", "prealloc.qcow2" })
        {
            bool small = source is "odd.raw" or "small.qcow2";
            foreach (string[] operands in Copies.Where(c => small || !SmallSourceCopies.Any(c.SequenceEqual)))
            {
                AssertSameCopy(outFormat, source, operands);
            }
        }
        foreach (string[] operands in SmallBlockCopies)
        {
            AssertSameCopy(outFormat, "odd.raw", operands);
            AssertSameCopy(outFormat, "empty.qcow2", operands.Where(o => !o.StartsWith("bs=", StringComparison.Ordinal) && !o.Contains("922", StringComparison.Ordinal)).ToArray());
        }
    }

    [Test]
    public void Dd_copies_the_input_from_skip_to_count_blocks()
    {
        WriteRandom("in.raw", 10_000, Seed);
        RunResult r = AssertSame("dd", "bs=1000", "count=5", "skip=2", "if=in.raw", "of=out.raw");
        Assert.That(r.ExitCode, Is.EqualTo(0));
        byte[] input = File.ReadAllBytes(PathOf("in.raw"));
        byte[] output = File.ReadAllBytes(PathOf("out.raw"));
        // qemu-img dd ends the copy at count blocks from the start of the input; the file is rounded to a sector.
        Assert.That(output.Length, Is.EqualTo(3072));
        Assert.That(output.Take(3000), Is.EqualTo(input.Skip(2000).Take(3000)));
        Assert.That(output.Skip(3000), Is.All.EqualTo((byte)0));
    }

    [Test]
    public void Dd_past_the_end_makes_an_empty_image_and_succeeds()
    {
        WriteRandom("in.raw", 1000, Seed);
        RunResult r = AssertSame("dd", "skip=3", "if=in.raw", "of=out.raw");
        Assert.That(r.Err, Is.EqualTo("qimg: in.raw: cannot skip to specified offset\n"));
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(new FileInfo(PathOf("out.raw")).Length, Is.EqualTo(0));
    }

    [TestCase]
    [TestCase("if=in.raw")]
    [TestCase("of=out.raw")]
    [TestCase("foo")]
    [TestCase("if=in.raw", "of=out.raw", "if")]
    [TestCase("foo=1", "if=in.raw", "of=out.raw")]
    [TestCase("bs=0", "if=in.raw", "of=out.raw")]
    [TestCase("bs=abc", "if=in.raw", "of=out.raw")]
    [TestCase("bs=", "if=in.raw", "of=out.raw")]
    [TestCase("bs=3G", "if=in.raw", "of=out.raw")]
    [TestCase("count=abc", "if=in.raw", "of=out.raw")]
    [TestCase("count=-1", "if=in.raw", "of=out.raw")]
    [TestCase("skip=x", "if=in.raw", "of=out.raw")]
    [TestCase("skip=99999999E", "if=in.raw", "of=out.raw")]
    [TestCase("-O", "foo", "if=in.raw", "of=out.raw")]
    [TestCase("-O", "file:x", "if=in.raw", "of=out.raw")]
    [TestCase("-O", "blkdebug", "if=in.raw", "of=out.raw")]
    [TestCase("if=none", "of=out.raw")]
    [TestCase("-x", "if=in.raw")]
    [TestCase("-O")]
    [TestCase("--foo")]
    [TestCase("-f", "qcow2", "if=in.raw", "of=out.raw")]
    [TestCase("if=in.raw", "of=nodir/out.raw")]
    [TestCase("-O", "qcow2", "if=in.raw", "of=nodir/out.raw")]
    [TestCase("--image-opts", "if=in.raw", "of=out.raw")]
    [TestCase("--image-opts", "-f", "raw", "if=in.raw", "of=out.raw")]
    public void Dd_errors_match_qemu_img(params string[] args)
    {
        WriteRandom("in.raw", 1000, Seed);
        RunResult r = AssertSame(["dd", .. args]);
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Err, Does.StartWith("qimg: "));
    }

    [Test]
    public void Dd_reads_image_opts_and_forced_formats()
    {
        MakeSources();
        AssertSameCopy("raw", "driver=qcow2,file.filename=top.qcow2", ["--image-opts", "bs=1M"]);
        AssertSameCopy("qcow2", "top.qcow2", ["-f", "raw", "bs=1M"]);
        AssertSameCopy("raw", "small.qcow2", ["-U", "-f", "qcow2", "bs=8k"]);
    }
}
