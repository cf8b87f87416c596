using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// qimg convert -c compresses clusters on worker threads and writes them in order: its output must stay byte-identical
/// to qemu-img 7.2's (which also writes in order unless -W) for zlib and zstd, several cluster sizes, zero, unallocated
/// and incompressible ranges, a backing file, several sources and any -m; its write errors must be qemu-img's.
/// The source data is seeded (CONVERT_C_SEED replays a seed; the seed is in every failure message).
/// </summary>
[TestFixture]
[Category("Interop")]
public class ConvertCompressedInteropTests : QimgFixture
{
    private int _seed;

    [SetUp]
    public void MakeInputs()
    {
        ToolProcess.Require("qemu-img", "qemu-io");
        _seed = int.TryParse(Environment.GetEnvironmentVariable("CONVERT_C_SEED"), out int s) ? s : Environment.TickCount & 0xffff;
        var r = new Random(_seed);
        // 3 MiB + 12345 bytes: compressible data, a zero MiB, an incompressible run, and a short last cluster.
        var data = new byte[(3 << 20) + 12345];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = i % 3 == 0 ? (byte)0 : (byte)r.Next(16);
        }
        Array.Clear(data, 1 << 20, 1 << 20);
        r.NextBytes(data.AsSpan(2 << 20, 200_000));
        File.WriteAllBytes(PathOf("src.raw"), data);
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "4M");
        Sh("qemu-io", "-c", "write -P 1 0 3M", "base.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", "4M");
        Sh("qemu-io", "-c", "write -P 9 1M 1M", "-c", "write -z 2M 512k", "-c", "write -P 7 3584k 64k", "top.qcow2");
    }

    protected override string Describe(string[] args) => $"qimg {string.Join(' ', args)} (CONVERT_C_SEED={_seed})";

    [TestCase("zlib", "512")]
    [TestCase("zlib", "4096")]
    [TestCase("zlib", "65536")]
    [TestCase("zlib", "2M")]
    [TestCase("zstd", "512")]
    [TestCase("zstd", "4096")]
    [TestCase("zstd", "65536")]
    [TestCase("zstd", "2M")]
    public void Output_is_byte_identical_for_each_compression_type_and_cluster_size(string type, string clusterSize)
    {
        string[] args = ["-c", "-O", "qcow2", "-o", $"compression_type={type},cluster_size={clusterSize}", "src.raw"];
        ConvertBoth(args);
        AssertSameFile(args);
    }

    [TestCase("top.qcow2")]
    [TestCase("-B base.qcow2 -F qcow2 top.qcow2")]
    [TestCase("-o backing_file=base.qcow2,backing_fmt=qcow2 -S 0 top.qcow2")]
    [TestCase("-S 0 top.qcow2")]
    [TestCase("-m 1 src.raw")]
    [TestCase("-m 2 src.raw top.qcow2")]
    [TestCase("-m 16 -o cluster_size=4k src.raw")]
    [TestCase("-W -m 1 src.raw")]
    [TestCase("-p -o cluster_size=16k top.qcow2 src.raw")]
    public void Output_is_byte_identical_with_holes_backing_files_and_any_m(string rest)
    {
        foreach (string type in new[] { "zlib", "zstd" })
        {
            string[] args = ["-c", "-O", "qcow2", "-o", $"compression_type={type}", .. rest.Split(' ')];
            ConvertBoth(args);
            AssertSameFile(args);
            File.Delete(PathOf("out.q"));
            File.Delete(PathOf("out.m"));
        }
    }

    [Test]
    public void Out_of_order_writes_give_the_same_guest_data_and_qimg_output_never_varies()
    {
        // qemu-img -W allocates compressed clusters in the order its threads finish; qimg writes in order, which -W permits.
        string[] args = ["-c", "-W", "-O", "qcow2", "src.raw"];
        ConvertBoth(args);
        Sh("qemu-img", "compare", "-q", "out.q", "out.m");
        Sh("qemu-img", "check", "-q", "out.m");
        Assert.That(Qimg(["convert", "-c", "-O", "qcow2", "src.raw", "serial.m"]).ExitCode, Is.EqualTo(0));
        FileBytes.AssertSame(PathOf("out.m"), PathOf("serial.m"), Describe(args));
    }

    [TestCase("0")]
    [TestCase("17")]
    [TestCase("-1")]
    [TestCase("abc")]
    [TestCase("8x")]
    [TestCase("0x10")]
    [TestCase("020")]
    public void M_takes_1_to_16_with_qemu_img_error_text(string m)
    {
        string[] args = ["-c", "-m", m, "-O", "qcow2", "src.raw"];
        ConvertBoth(args);
        if (File.Exists(PathOf("out.q")))
        {
            AssertSameFile(args);
        }
    }

    [TestCase("write_compressed", 1, "5")]
    [TestCase("write_compressed", 3, "28")]
    [TestCase("l2_update_compressed", 5, "5")]
    public void A_failing_compressed_write_stops_the_copy_where_qemu_img_stops(string evt, int nth, string errno)
    {
        // Writes 1 .. nth-1 pass (each moves blkdebug's state on), write nth fails; the clusters before it are in the file.
        var cfg = new System.Text.StringBuilder();
        for (int state = 1; state < nth; state++)
        {
            cfg.Append($"[set-state]\nstate = \"{state}\"\nevent = \"{evt}\"\nnew_state = \"{state + 1}\"\n");
        }
        cfg.Append($"[inject-error]\nstate = \"{nth}\"\nevent = \"{evt}\"\nerrno = \"{errno}\"\nonce = \"on\"\n");
        File.WriteAllText(PathOf("blk.cfg"), cfg.ToString());
        var results = new List<RunResult>();
        foreach (string name in new[] { "out.q", "out.m" })
        {
            Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", name, "4M");
            string[] args = ["convert", "-n", "-c", "-f", "raw", "--target-image-opts", "src.raw",
                $"driver=qcow2,file.driver=blkdebug,file.config=blk.cfg,file.image.filename={name}"];
            results.Add(name == "out.q" ? QemuImg(args) : Qimg(args));
        }
        Assert.That(results[1].Err, Is.EqualTo(results[0].Err), Describe([evt, nth.ToString()]));
        Assert.That(results[1].ExitCode, Is.EqualTo(results[0].ExitCode));
        Assert.That(results[0].ExitCode, Is.Not.EqualTo(0), "the injected error must fail the copy");
        FileBytes.AssertSame(PathOf("out.m"), PathOf("out.q"), Describe([evt]));
    }

    [Test]
    public void Qio_write_c_of_many_clusters_equals_qemu_io_writing_them_one_by_one()
    {
        // qemu-io compresses a long write -c on parallel tasks and allocates in the order they finish, which varies;
        // ours compresses in parallel too but allocates in guest order, which is what one write per cluster gives.
        byte[] src = File.ReadAllBytes(PathOf("src.raw"));
        File.WriteAllBytes(PathOf("all.bin"), src.AsSpan(1 << 20, 2 << 20).ToArray());
        var perCluster = new List<string>();
        for (int i = 0; i < 32; i++)
        {
            File.WriteAllBytes(PathOf($"c{i}.bin"), src.AsSpan((1 << 20) + (i << 16), 1 << 16).ToArray());
            perCluster.AddRange(["-c", $"write -c -s c{i}.bin {i * 64}k 64k"]);
        }
        foreach (string type in new[] { "zlib", "zstd" })
        {
            Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", $"compression_type={type}", $"q.{type}", "4M");
            Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", $"compression_type={type}", $"m.{type}", "4M");
            Sh("qemu-io", [.. perCluster, $"q.{type}"]);
            var ours = InProcess.Qio(Dir, ["-c", "write -c -s all.bin 0 2M", $"m.{type}"]);
            Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());
            FileBytes.AssertSame(PathOf($"m.{type}"), PathOf($"q.{type}"), Describe([type]));
        }
    }

    private void AssertSameFile(string[] args)
    {
        FileBytes.AssertSame(PathOf("out.m"), PathOf("out.q"), Describe(["convert", .. args]));
        Sh("qemu-img", "check", "-q", "out.m");
    }
}
