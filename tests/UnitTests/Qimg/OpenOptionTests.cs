using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// The options of an image's nodes (issue 13 item 3): the block layer's flags, discard, detect-zeroes and node-name, the
/// file driver's options, the qcow2 driver's cache, lazy-refcounts, clean-interval and encryption options, and options
/// nobody takes. qemu-img info and qemu-io open the same image with the same --image-opts; errors and output must match.
/// </summary>
[TestFixture]
[Category("Interop")]
public class OpenOptionTests : QimgFixture
{
    private static readonly string[] Options =
    [
        "cache-size=1M,l2-cache-size=512k,refcount-cache-size=256k", "cache-size=1M,l2-cache-size=2M", "cache-size=1M,refcount-cache-size=2M",
        "cache-size=1M,l2-cache-size=1M", "cache-size=64k", "cache-size=1k", "l2-cache-size=1M,refcount-cache-size=1M",
        "l2-cache-entry-size=1000", "l2-cache-entry-size=256", "l2-cache-entry-size=131072", "l2-cache-entry-size=4096",
        "l2-cache-size=abc", "l2-cache-size=-1", "l2-cache-size=1.5k", "l2-cache-size=3T", "l2-cache-size=18446744073709551616",
        "refcount-cache-size=3T", "refcount-cache-size=10G", "refcount-cache-size=100P",
        "cache-clean-interval=-1", "cache-clean-interval=5000000000", "cache-clean-interval=abc", "cache-clean-interval=1.5",
        "cache-clean-interval=0x10", "cache-clean-interval=18446744073709551616",
        "lazy-refcounts=maybe", "lazy-refcounts=yes", "pass-discard-request=x", "pass-discard-other=on",
        "overlap-check=foo", "overlap-check=all,overlap-check.template=none", "overlap-check.main-header=x",
        "foo=1", "discard-no-unref=on", "l2-cache-size=1M,foo=bar", "foo=1,l2-cache-size=abc", "encrypt.format=luks",
        "read-only=x", "auto-read-only=x", "cache.direct=x", "cache.no-flush=x", "detect-zeroes=x", "discard=x", "discard=on",
        "detect-zeroes=unmap", "detect-zeroes=unmap,discard=unmap", "detect-zeroes=unmap,discard=off", "discard=x,detect-zeroes=x",
        "detect-zeroes=x,read-only=x", "node-name=a234567890123456789012345678901", "node-name=a2345678901234567890123456789012",
        "node-name=", "node-name=1x", "node-name=a.b-c_d", "node-name=1x,discard=x", "node-name=1x,detect-zeroes=x",
        "file.foo=1", "discard=x,file.foo=1", "file.foo=1,read-only=x", "file.foo=1,lazy-refcounts=x", "file.locking=x,file.foo=1",
        "file.aio=native", "file.aio=foo", "file.aio=io_uring", "file.read-only=x", "file.node-name=1x", "file.aio-max-batch=x",
        "file.drop-cache=x", "file.pr-manager=x",
    ];

    /// <summary>json: file names (issue 13 item 1): parse errors, flattening, list items, keys in QDict order, conflicts.</summary>
    private static readonly string[] JsonNames =
    [
        "{\"a\":}", "{\"a\" 1}", "{a:1}", "{true:1}", "", "{\"a\":1}x", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "[1 2]", "{1:2}",
        "{\"a\":[1,]}", "{\"a\":tru}", "{\"a\":\"x", "{\"a\":01}", "\"x\"", "{\"a\":\"\\q\"}", "{\"a\":1}{}", "{\"driver\":\"qcow2\",",
        "{\"a\":true}", "{\"a\":{}}", " {\"a\":-1e3} ",
        "{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"t.qcow2\"}}",
        "{'driver':'qcow2','file.filename':'t.qcow2'}",
        "{\"driver\":\"qcow2\",\"file\":\"t.qcow2\"}", "{\"driver\":\"qcow2\",\"filename\":\"t.qcow2\"}",
        "{\"file.filename\":\"t.qcow2\"}", "{\"driver\":\"raw\",\"file.filename\":\"t.qcow2\"}",
        "{\"driver\":\"qcow2\",\"file\":{\"filename\":\"nonexist.qcow2\"}}",
        "{\"driver\":\"qcow2\",\"file\":{\"filename\":\"t.qcow2\"},\"cache\":{\"direct\":\"x\"}}",
        "{\"driver\":\"qcow2\",\"file\":{\"filename\":\"t.qcow2\"},\"a\":[1,2]}",
        "{\"driver\":\"qcow2\",\"file\":{\"filename\":\"t.qcow2\"},\"a\":null}",
        "{\"driver\":\"qcow2\",\"file\":{\"filename\":\"t.qcow2\",\"x\":1,\"y\":2}}",
        "{\"driver\":\"qcow2\",\"file\":{\"filename\":\"t.qcow2\"},\"overlap-check\":{\"active-l1\":\"x\",\"active-l2\":\"y\"}}",
        "{\"driver\":\"qcow2\",\"file\":{\"filename\":\"t.qcow2\"},\"l2-cache-size\":1048576.5}",
        "{\"driver\":\"qcow2\",\"file.filename\":\"t.qcow2\",\"lazy-refcounts\":true}",
        "{\"driver\":\"qcow2\",\"file.filename\":\"t.qcow2\",\"lazy-refcounts\":1}",
    ];

    [TestCaseSource(nameof(JsonNames))]
    public void Json_file_names_open_or_fail_as_in_qemu(string json)
    {
        AssertSame("info", "json:" + json);
        AssertSame("check", "json:" + json);
        AssertSameQio("-c", "read 0 512", "json:" + json);
    }

    [Test]
    public void A_json_backing_file_and_json_sources_work_as_in_qemu()
    {
        const string json = "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"t.qcow2\"}}";
        Sh("qemu-io", "-c", "write -P 5 0 64k", "t.qcow2");
        AssertSame("create", "-f", "qcow2", "-b", json, "-F", "qcow2", "o.qcow2");
        Assert.That(Qimg("info", "o.qcow2").Out.Replace("disk size: 196 KiB", ""), Is.EqualTo(QemuImg("info", "o.qcow2").Out.Replace("disk size: 196 KiB", "")));
        AssertSameQio("-c", "read -P 5 0 64k", "-c", "read -P 0 64k 64k", "o.qcow2");
        AssertSame("compare", json, "t.qcow2");
        AssertSame("convert", "-O", "raw", json, "c.raw");
        Assert.That(File.ReadAllBytes(PathOf("c.raw")).AsSpan(0, 65536).ToArray(), Is.All.EqualTo((byte)5));
    }

    /// <summary>Protocol prefixes (issue 13 item 1): file: is stripped, a colon before any slash is a protocol unless the
    /// name comes from a file.filename option, protocols QEMU does not know are unknown.</summary>
    [TestCase("info", "file:t.qcow2")]
    [TestCase("info", "a:b.qcow2")]
    [TestCase("info", "file:a:b.qcow2")]
    [TestCase("info", "./a:b.qcow2")]
    [TestCase("info", "foo:bar")]
    [TestCase("check", "file:t.qcow2")]
    [TestCase("map", "file:t.qcow2")]
    [TestCase("info", "--image-opts", "driver=qcow2,file.filename=a:b.qcow2")]
    [TestCase("info", "--image-opts", "driver=qcow2,file.filename=file:t.qcow2")]
    [TestCase("info", "json:{\"driver\":\"qcow2\",\"file.filename\":\"a:b.qcow2\"}")]
    [TestCase("compare", "file:t.qcow2", "t.qcow2")]
    [TestCase("create", "-f", "qcow2", "-b", "a:b.qcow2", "-F", "qcow2", "o.qcow2")]
    public void Protocol_prefixes_as_in_qemu(params string[] args)
    {
        File.Copy(PathOf("t.qcow2"), PathOf("a:b.qcow2"));
        AssertSame(args);
        AssertSameQio("-c", "read 0 1", args[^1]);
    }

    /// <summary>t.qcow2 and v2.qcow2 (compat=0.10), empty 64 MiB images; qemu-img makes them once per run and every test
    /// gets them with the same holes (BuiltOnce.Layout).</summary>
    [SetUp]
    public void MakeImages()
    {
        ToolProcess.Require("qemu-img", "qemu-io");
        BuiltOnce.Layout("open-option-images", Dir, _ =>
        {
            Sh("qemu-img", "create", "-f", "qcow2", "t.qcow2", "64M");
            Sh("qemu-img", "create", "-f", "qcow2", "-o", "compat=0.10", "v2.qcow2", "64M");
        });
    }

    [TestCaseSource(nameof(Options))]
    public void Qimg_info_opens_or_refuses_as_qemu_img(string options) =>
        AssertSame("info", "--image-opts", $"driver=qcow2,file.filename=t.qcow2,{options}");

    [TestCase("lazy-refcounts=on")]
    [TestCase("lazy-refcounts=off")]
    [TestCase("driver=raw,foo=1")]
    [TestCase("driver=raw,l2-cache-size=1")]
    [TestCase("driver=raw,offset=x")]
    public void Qimg_check_and_map_open_or_refuse_as_qemu_img(string options)
    {
        string list = options.StartsWith("driver=", StringComparison.Ordinal)
            ? $"{options},file.filename=t.qcow2" : $"driver=qcow2,file.filename=v2.qcow2,{options}";
        AssertSame("check", "--image-opts", list);
        AssertSame("map", "--image-opts", list);
    }

    [TestCaseSource(nameof(Options))]
    public void Qio_opens_or_refuses_as_qemu_io(string options) =>
        AssertSameQio("-c", "read 0 512", "--image-opts", $"driver=qcow2,file.filename=t.qcow2,{options}");

    [TestCase("-d", "ignore")]
    [TestCase("-d", "unmap")]
    public void Qio_discard_flag_decides_detect_zeroes_unmap(string flag, string mode) =>
        AssertSameQio(flag, mode, "-c", "read 0 512", "--image-opts", "driver=qcow2,file.filename=t.qcow2,detect-zeroes=unmap");

    [TestCase("force-share=x")]
    [TestCase("force-share=yes")]
    public void Qio_read_only_force_share_as_qemu_io(string options) =>
        AssertSameQio("-r", "-c", "read 0 512", "--image-opts", $"driver=qcow2,file.filename=t.qcow2,{options}");

    [Test]
    public void Qio_snapshot_mode_writes_to_a_temporary_overlay()
    {
        Sh("qemu-io", "-c", "write -P 1 0 64k", "t.qcow2");
        byte[] before = File.ReadAllBytes(PathOf("t.qcow2"));
        AssertSameQio("-s", "-c", "write -P 2 0 512", "-c", "read -P 2 0 512", "-c", "read -P 1 512 512", "-c", "map", "-c", "info",
            "-c", "alloc 0 1M", "t.qcow2");
        Assert.That(File.ReadAllBytes(PathOf("t.qcow2")), Is.EqualTo(before), "-s must leave the image as it was");
    }

    private void AssertSameQio(params string[] args)
    {
        RunResult real = Qemu("qemu-io", args);
        var ours = InProcess.Qio(Dir, args);
        string what = "qio " + string.Join(' ', args);
        Assert.Multiple(() =>
        {
            Assert.That(Qio.QioFixture.FilterTiming(ours.Out), Is.EqualTo(Qio.QioFixture.FilterTiming(real.Out.Replace("qemu-io", "qio"))), $"stdout of {what}");
            Assert.That(ours.Err, Is.EqualTo(real.Err.Replace("qemu-io", "qio")), $"stderr of {what}");
            Assert.That(ours.ExitCode, Is.EqualTo(real.ExitCode), $"exit code of {what}");
        });
    }
}
