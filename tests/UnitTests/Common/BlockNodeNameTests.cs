using NUnit.Framework;

namespace Qcow2.UnitTests.Common;

/// <summary>bdrv_refresh_filename without QEMU at hand: each expected name is what qemu-img 7.2 printed for the same open.</summary>
[TestFixture]
public class BlockNodeNameTests
{
    private static List<KeyValuePair<string, object?>> Opts(string pairs) =>
        [.. pairs.Split(',').Select(p => new KeyValuePair<string, object?>(p[..p.IndexOf('=')], p[(p.IndexOf('=') + 1)..]))];

    [Test]
    public void Raw_offset_from_json_keeps_numbers_and_qdict_order() =>
        Assert.That(BlockNodeName.Of(new NodeOpenRequest(
                "json:{\"driver\":\"raw\",\"offset\":512,\"size\":4096,\"file\":{\"driver\":\"file\",\"filename\":\"a.qcow2\"}}",
                null, [], "raw", NoIo: true)),
            Is.EqualTo("json:{\"offset\": 512, \"driver\": \"raw\", \"size\": 4096, \"file\": {\"driver\": \"file\", \"filename\": \"a.qcow2\"}}"));

    /// <summary>--image-opts option lists (comma-separated here) and the name qemu-img info gives the node.</summary>
    [TestCase("driver=null-co,size=1M", "null-co", "json:{\"driver\": \"null-co\", \"size\": \"1M\"}", TestName = "Null_co_size_given_as_option_string_is_strong")]
    [TestCase("driver=null-co,latency-ns=5", "null-co", "null-co://", TestName = "Null_co_latency_is_weak")]
    [TestCase("driver=qcow2,file.driver=blkdebug,file.image.filename=a.qcow2", "qcow2", "blkdebug::a.qcow2", TestName = "Blkdebug_image_child_names_the_format_above_it")]
    [TestCase("driver=qcow2,file.filename=a.qcow2,file.locking=off,lazy-refcounts=on", "qcow2", "a.qcow2", TestName = "Weak_file_options_leave_the_name_plain")]
    public void Node_is_named_as_qemu_img_info_names_it(string options, string driver, string name) =>
        Assert.That(BlockNodeName.Of(new NodeOpenRequest(null, null, Opts(options), driver, NoIo: true)), Is.EqualTo(name));

    [Test]
    public void Map_names_the_file_under_a_format_over_a_format() =>
        Assert.That(BlockNodeName.OfDataNode(new NodeOpenRequest(null, null,
                Opts("driver=raw,file.driver=qcow2,file.file.filename=a.qcow2"), "raw", NoIo: false)),
            Is.EqualTo("a.qcow2"));
}
