using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qimg measure against qemu-img 7.2 measure: sizes, options, source images, output formats and every error (inconclusive without QEMU).</summary>
[TestFixture]
public sealed class MeasureCommandTests : MeasureDdFixture
{
    private static readonly string[] Sizes = ["0", "1", "511", "512", "1000", "64k", "65537", "1M", "100M", "1G", "1.5G", "2T", "100T", "8E"];

    private static readonly string[][] OptionSets =
    [
        [], ["-O", "raw"], ["-O", "qcow2"], ["-O", "qcow2", "-o", "cluster_size=512"], ["-O", "qcow2", "-o", "cluster_size=4k"],
        ["-O", "qcow2", "-o", "cluster_size=2M"], ["-O", "qcow2", "-o", "refcount_bits=1"], ["-O", "qcow2", "-o", "refcount_bits=64"],
        ["-O", "qcow2", "-o", "cluster_size=8k,refcount_bits=2"], ["-O", "qcow2", "-o", "compat=0.10"],
        ["-O", "qcow2", "-o", "extended_l2=on"], ["-O", "qcow2", "-o", "extended_l2=on,cluster_size=16k"],
        ["-O", "qcow2", "-o", "extended_l2=on,compat=0.10"], ["-O", "qcow2", "-o", "compat=1.1,lazy_refcounts=on"],
        ["-O", "qcow2", "-o", "preallocation=metadata"], ["-O", "qcow2", "-o", "preallocation=falloc"],
        ["-O", "qcow2", "-o", "preallocation=full,cluster_size=1M"], ["-O", "qcow2", "-o", "backing_file=base.qcow2"],
        ["-O", "qcow2", "-o", "size=5G"], ["-O", "raw", "-o", "preallocation=full"],
    ];

    private static readonly string[][] Outputs = [[], ["--output=json"], ["--output", "human"]];

    [Test]
    public void Measure_of_a_size_matches_qemu_img_for_every_size_and_option_set()
    {
        int compared = 0;
        foreach (string size in Sizes)
        {
            foreach (string[] options in OptionSets)
            {
                AssertSame(["measure", "--size", size, .. options]);
                compared++;
            }
        }
        AssertSame("measure", "--size", "1G", "-O", "qcow2", "--output=json");
        Assert.That(compared, Is.EqualTo(Sizes.Length * OptionSets.Length));
    }

    [Test]
    public void Measure_of_an_image_matches_qemu_img_for_every_source_and_option_set()
    {
        MakeSources();
        foreach (string source in Sources)
        {
            foreach (string[] options in OptionSets)
            {
                AssertSame(["measure", .. options, source]);
            }
            foreach (string[] output in Outputs)
            {
                AssertSame(["measure", "-O", "qcow2", .. output, source]);
            }
        }
    }

    [Test]
    public void Measure_counts_only_the_clusters_holding_data()
    {
        MakeSources();
        // base.qcow2 holds 1M + 100k (two 64k clusters) + 4k + 1M of data; the zeroed 1M is not counted.
        RunResult r = AssertSame("measure", "-O", "qcow2", "--output=json", "base.qcow2");
        RunResult full = AssertSame("measure", "-O", "qcow2", "--size", "64M", "--output=json");
        long Field(RunResult x, string name) =>
            long.Parse(x.Out.Split('\n').Single(l => l.Contains($"\"{name}\"", StringComparison.Ordinal)).Split(':')[1].Trim(' ', ','));
        long data = (16 + 2 + 1 + 16) * 65536L;
        Assert.That(Field(r, "required") - Field(full, "required"), Is.EqualTo(data));
        Assert.That(Field(r, "fully-allocated"), Is.EqualTo(Field(full, "fully-allocated")));
    }

    [Test]
    public void Measure_prints_the_bitmaps_line_only_for_a_qcow2_v3_source_and_output()
    {
        MakeSources();
        Assert.That(AssertSame("measure", "-O", "qcow2", "bm.qcow2").Out, Does.Contain("\nbitmaps size: 327680\n"));
        Assert.That(AssertSame("measure", "-O", "qcow2", "--output=json", "bm.qcow2").Out, Does.Contain("\"bitmaps\": 327680"));
        Assert.That(AssertSame("measure", "-O", "qcow2", "-o", "cluster_size=4k", "bm.qcow2").Out, Does.Contain("bitmaps size: "));
        Assert.That(AssertSame("measure", "-O", "qcow2", "empty.qcow2").Out, Does.EndWith("bitmaps size: 0\n"));
        Assert.That(AssertSame("measure", "-O", "qcow2", "-o", "compat=0.10", "bm.qcow2").Out, Does.Not.Contain("bitmaps"));
        Assert.That(AssertSame("measure", "-O", "qcow2", "small.qcow2").Out, Does.Not.Contain("bitmaps"));
        Assert.That(AssertSame("measure", "-O", "qcow2", "sparse.raw").Out, Does.Not.Contain("bitmaps"));
        Assert.That(AssertSame("measure", "-O", "raw", "bm.qcow2").Out, Does.Not.Contain("bitmaps"));
        Assert.That(AssertSame("measure", "-O", "qcow2", "--size", "1G").Out, Does.Not.Contain("bitmaps"));
    }

    [Test]
    public void Measure_reads_snapshots_and_image_opts_as_qemu_img_does()
    {
        MakeSources();
        AssertSame("measure", "-O", "qcow2", "-l", "s1", "base.qcow2");
        AssertSame("measure", "-O", "qcow2", "-l", "snapshot.name=s1", "base.qcow2");
        AssertSame("measure", "-O", "qcow2", "-l", "snapshot.id=1", "base.qcow2");
        AssertSame("measure", "-O", "qcow2", "-l", "nope", "base.qcow2");
        AssertSame("measure", "-O", "qcow2", "-l", "snapshot.foo=1", "base.qcow2");
        AssertSame("measure", "-O", "qcow2", "-l", "s1", "sparse.raw");
        AssertSame("measure", "-O", "qcow2", "--image-opts", "driver=qcow2,file.filename=top.qcow2");
        AssertSame("measure", "-O", "qcow2", "-f", "raw", "top.qcow2");
        AssertSame("measure", "-O", "qcow2", "-f", "qcow2", "odd.raw");
        AssertSame("measure", "-U", "-O", "qcow2", "-f", "qcow2", "top.qcow2");
        AssertSame("measure", "-O", "qcow2", "nonexistent.qcow2");
    }

    [TestCase]
    [TestCase("--size", "1G", "a.qcow2")]
    [TestCase("--output=foo", "--size", "1G")]
    [TestCase("-f", "qcow2")]
    [TestCase("-l", "snap")]
    [TestCase("--image-opts")]
    [TestCase("a.qcow2", "b")]
    [TestCase("--size", "abc")]
    [TestCase("--size", "-1")]
    [TestCase("--size", "1.5")]
    [TestCase("--size", "99999999E")]
    [TestCase("--size", "1G", "-O", "vmdk")]
    [TestCase("--size", "1G", "-O", "file")]
    [TestCase("--size", "1G", "-O", "blkdebug")]
    [TestCase("--size", "1G", "-O", "foo")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "cluster_size=1000")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "cluster_size=0")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "cluster_size=4294967296")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "compat=v3")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "compat=bogus")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "refcount_bits=3")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "refcount_bits=0")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "refcount_bits=128")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "refcount_bits=8,compat=0.10")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "extended_l2=on,cluster_size=4k")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "preallocation=bogus")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "foo=bar")]
    [TestCase("--size", "1G", "-O", "raw", "-o", "cluster_size=4k")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "help")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "cluster_size=abc")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "refcount_bits=abc")]
    [TestCase("--size", "1G", "-O", "qcow2", "-o", "extended_l2=maybe")]
    [TestCase("--size", "1E", "-O", "qcow2")]
    [TestCase("--size", "1G", "-o", ",,")]
    [TestCase("--size", "1G", "-o", "a,,b")]
    [TestCase("--output=json", "--size", "1G", "--", "-x")]
    public void Measure_errors_match_qemu_img(params string[] args)
    {
        RunResult r = AssertSame(["measure", .. args]);
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Err, Does.StartWith("qimg: "));
    }

    [TestCase("-x")]
    [TestCase("-Ux")]
    [TestCase("-xU")]
    [TestCase("--foo")]
    [TestCase("--foo=bar")]
    [TestCase("--image-opts=x", "a")]
    [TestCase("-O")]
    [TestCase("--size")]
    [TestCase("--o", "json")]
    public void Measure_option_errors_are_getopts_own_followed_by_the_help(params string[] args)
    {
        RunResult expected = QemuImg(["measure", .. args]);
        RunResult actual = Qimg(["measure", .. args]);
        Assert.That(actual.Err, Is.EqualTo(expected.Err));
        Assert.That(actual.Err, Does.StartWith("measure: "));
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode).And.EqualTo(0));
        Assert.That(actual.Out, Is.EqualTo(Qimg("--help").Out));
    }
}
