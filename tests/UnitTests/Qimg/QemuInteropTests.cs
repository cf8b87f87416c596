using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// qimg info and map against real qemu-img 7.2 on the same images (made by qemu-img and qemu-io), and on images
/// that each tool created from the same command (inconclusive when QEMU is not installed).
/// </summary>
[TestFixture]
public class QemuInteropTests : QimgFixture
{
    private static readonly string[][] Outputs = [[], ["--output=json"]];

    /// <summary>A raw image with data, holes and an odd length.</summary>
    private void MakeRawImages()
    {
        Sh("qemu-img", "create", "-q", "-f", "raw", "r.raw", "64M");
        Sh("qemu-io", "-f", "raw", "-c", "write -P 1 0 1M", "-c", "write -P 2 10M 4k", "r.raw");
        Sh("qemu-img", "create", "-q", "-f", "raw", "full.raw", "1M");
        Sh("qemu-io", "-f", "raw", "-c", "write -P 1 0 1M", "full.raw");
        File.WriteAllBytes(PathOf("thousand.raw"), Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray());
    }

    [TestCase("r.raw")]
    [TestCase("full.raw")]
    [TestCase("thousand.raw")]
    public void Raw_info_and_map_match(string image)
    {
        MakeRawImages();
        AssertInfoAndMapMatch(image, backingChain: false);
        AssertSame("map", "--output=json", "--start-offset=1000", "--max-length=20M", image);
    }

    [Test]
    public void Errors_match()
    {
        MakeRawImages();
        AssertSame("info", "nonexist");
        AssertSame("map", "nonexist");
        AssertSame("info", "-f", "qcow2", "r.raw");
        AssertSame("map", "--output=yaml", "r.raw");
        AssertSame("info", "--image-opts", "-f", "raw", "r.raw");
    }

    /// <summary>qcow2 images of many shapes plus a chain qcow2 → qcow2 → raw with snapshots; needs the qcow2 engine.</summary>
    private void MakeQcow2Images()
    {
        Directory.CreateDirectory(PathOf("sub"));
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "a.qcow2", "64M");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "v2.qcow2", "1G");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on,refcount_bits=64,cluster_size=4k", "lazy.qcow2", "100M");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata", "pm.qcow2", "8M");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512,refcount_bits=1", "c512.qcow2", "1M");
        Sh("qemu-io", "-c", "write -P 5 1000 3000", "-c", "write -z 8k 8k", "c512.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", "big.qcow2", "16G");
        Sh("qemu-io", "-c", "write 3G 1M", "-c", "write 15G 4k", "big.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "comp.qcow2", "4M");
        Sh("qemu-io", "-c", "write -c 0 64k", "-c", "write 64k 64k", "comp.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "raw", "sub/base.raw", "32M");
        Sh("qemu-io", "-f", "raw", "-c", "write 10M 4k", "sub/base.raw");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "sub/mid.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "sub/top.qcow2", "64M");
        Sh("qemu-io", "-c", "write 0 64k", "sub/top.qcow2");
        Sh("qemu-img", "snapshot", "-c", "snap1", "sub/top.qcow2");
        Sh("qemu-io", "-c", "write 64k 64k", "sub/top.qcow2");
        Sh("qemu-img", "snapshot", "-c", "second one", "sub/top.qcow2");
        Sh("qemu-io", "-c", "write 1M 64k", "-c", "write -z 2M 64k", "-c", "write 4100k 4k", "-c", "discard 4M 64k", "sub/mid.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "sub/top.qcow2", "-F", "qcow2", "top2.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "missing.qcow2", "-F", "qcow2", "miss.qcow2", "1M");
    }

    [TestCase("a.qcow2")]
    [TestCase("v2.qcow2")]
    [TestCase("lazy.qcow2")]
    [TestCase("pm.qcow2")]
    [TestCase("c512.qcow2")]
    [TestCase("big.qcow2")]
    [TestCase("comp.qcow2")]
    [TestCase("sub/mid.qcow2")]
    [TestCase("sub/top.qcow2")]
    [TestCase("top2.qcow2")]
    [TestCase("miss.qcow2")]
    public void Qcow2_info_and_map_match(string image)
    {
        MakeQcow2Images();
        AssertInfoAndMapMatch(image, backingChain: true);
    }

    /// <summary>info (and info --backing-chain) and map of the image in every output format, ours against qemu-img's.</summary>
    private void AssertInfoAndMapMatch(string image, bool backingChain)
    {
        foreach (string[] o in Outputs)
        {
            AssertSame(["info", .. o, image]);
            if (backingChain)
            {
                AssertSame(["info", "--backing-chain", .. o, image]);
            }
            AssertSame(["map", .. o, image]);
        }
    }

    [TestCase("qcow2", "64M", "")]
    [TestCase("qcow2", "1G", "compat=0.10,cluster_size=4k")]
    [TestCase("qcow2", "100M", "refcount_bits=64,lazy_refcounts=on,cluster_size=512")]
    [TestCase("qcow2", "8M", "preallocation=metadata")]
    [TestCase("qcow2", "1000000", "preallocation=metadata")]
    [TestCase("qcow2", "3000000", "preallocation=metadata,cluster_size=4k")]
    [TestCase("raw", "5000", "")]
    [TestCase("raw", "1M", "preallocation=full")]
    public void Images_created_by_both_tools_look_the_same(string format, string size, string options)
    {
        Directory.CreateDirectory(PathOf("q"));
        Directory.CreateDirectory(PathOf("m"));
        string[] o = options.Length == 0 ? [] : ["-o", options];
        RunResult theirs = QemuImg(["create", "-f", format, .. o, "q/x.img", size]);
        RunResult ours = Qimg(["create", "-f", format, .. o, "m/x.img", size]);
        Assert.That(ours.Out.Replace("m/x.img", "q/x.img", StringComparison.Ordinal), Is.EqualTo(theirs.Out));
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode));
        Assert.That(new FileInfo(PathOf("m/x.img")).Length, Is.EqualTo(new FileInfo(PathOf("q/x.img")).Length));
        foreach (string[] cmd in new[] { new[] { "info", "--output=json" }, new[] { "map", "--output=json" } })
        {
            string expected = Normalize(QemuImg([.. cmd, "q/x.img"]).Out);
            Assert.That(Normalize(Qimg([.. cmd, "m/x.img"]).Out), Is.EqualTo(expected), string.Join(' ', cmd));
            Assert.That(Normalize(QemuImg([.. cmd, "m/x.img"]).Out), Is.EqualTo(expected), "qemu-img on qimg's image: " + string.Join(' ', cmd));
        }
    }

    /// <summary>Drops what legitimately differs between two files made the same way: their names and disk usage.</summary>
    private static string Normalize(string json) => string.Join('\n', json.Split('\n')
        .Where(l => !l.Contains("\"actual-size\"", StringComparison.Ordinal))
        .Select(l => l.Replace("m/x.img", "q/x.img", StringComparison.Ordinal)));
}
