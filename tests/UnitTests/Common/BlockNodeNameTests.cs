using NUnit.Framework;

namespace Qcow2.UnitTests.Common;

/// <summary>bdrv_refresh_filename without QEMU at hand: each expected name is what qemu-img 7.2 printed for the same open.</summary>
[TestFixture]
public class BlockNodeNameTests
{
    private static List<KeyValuePair<string, object?>> Opts(params string[] pairs) =>
        [.. pairs.Select(p => new KeyValuePair<string, object?>(p[..p.IndexOf('=')], p[(p.IndexOf('=') + 1)..]))];

    [Test]
    public void Raw_offset_from_json_keeps_numbers_and_qdict_order() =>
        Assert.That(BlockNodeName.Of(new NodeOpenRequest(
                "json:{\"driver\":\"raw\",\"offset\":512,\"size\":4096,\"file\":{\"driver\":\"file\",\"filename\":\"a.qcow2\"}}",
                null, [], "raw", NoIo: true)),
            Is.EqualTo("json:{\"offset\": 512, \"driver\": \"raw\", \"size\": 4096, \"file\": {\"driver\": \"file\", \"filename\": \"a.qcow2\"}}"));

    [Test]
    public void Null_co_size_given_as_option_string_is_strong() =>
        Assert.That(BlockNodeName.Of(new NodeOpenRequest(null, null, Opts("driver=null-co", "size=1M"), "null-co", NoIo: true)),
            Is.EqualTo("json:{\"driver\": \"null-co\", \"size\": \"1M\"}"));

    [Test]
    public void Null_co_latency_is_weak() =>
        Assert.That(BlockNodeName.Of(new NodeOpenRequest(null, null, Opts("driver=null-co", "latency-ns=5"), "null-co", NoIo: true)),
            Is.EqualTo("null-co://"));

    [Test]
    public void Blkdebug_image_child_names_the_format_above_it() =>
        Assert.That(BlockNodeName.Of(new NodeOpenRequest(null, null,
                Opts("driver=qcow2", "file.driver=blkdebug", "file.image.filename=a.qcow2"), "qcow2", NoIo: true)),
            Is.EqualTo("blkdebug::a.qcow2"));

    [Test]
    public void Weak_file_options_leave_the_name_plain() =>
        Assert.That(BlockNodeName.Of(new NodeOpenRequest(null, null,
                Opts("driver=qcow2", "file.filename=a.qcow2", "file.locking=off", "lazy-refcounts=on"), "qcow2", NoIo: true)),
            Is.EqualTo("a.qcow2"));

    [Test]
    public void Map_names_the_file_under_a_format_over_a_format() =>
        Assert.That(BlockNodeName.OfDataNode(new NodeOpenRequest(null, null,
                Opts("driver=raw", "file.driver=qcow2", "file.file.filename=a.qcow2"), "raw", NoIo: false)),
            Is.EqualTo("a.qcow2"));
}
