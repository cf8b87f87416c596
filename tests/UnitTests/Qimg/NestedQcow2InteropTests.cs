using NUnit.Framework;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// A qcow2 whose file node is itself a qcow2 (issue 13): qemu-img map reports offsets in the inner image's guest data
/// and names the inner node in its File column; an inner node whose backing file was overridden (backing.* options, or
/// "backing": null where its header names one) is named "json:{...}" with its "backing" member, in map's File column
/// and in info's image name. Filters over such an image (blkdebug, copy-on-read) are skipped by map, whose layers are the
/// image's backing chain. Each row runs the same command line with real qemu-img and qimg on the same fresh images.
/// </summary>
[TestFixture]
[ParallelInterop]
public class NestedQcow2InteropTests : QimgFixture
{
    private const string Outer = "driver=qcow2,file.driver=qcow2,file.file.filename=";

    private static readonly string[][] Images =
    [
        ["--image-opts", Outer + "in.qcow2"],
        ["--image-opts", Outer + "over.qcow2"],
        ["--image-opts", "driver=raw,file.driver=qcow2,file.file.filename=over.qcow2"],
        ["--image-opts", Outer + "over.qcow2,file.backing="],
        ["--image-opts", Outer + "over.qcow2,file.backing.file.filename=other.qcow2"],
        ["--image-opts", Outer + "over.qcow2,file.backing.file.filename=base.qcow2"],
        ["--image-opts", Outer + "over.qcow2,file.backing.driver=raw,file.backing.file.filename=base.qcow2"],
        ["--image-opts", Outer + "in.qcow2,file.backing="],
        ["json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"in.qcow2\"}}}"],
        ["--image-opts", "driver=blkdebug,image.driver=qcow2,image.file.filename=over.qcow2,align=4k"],
        ["--image-opts", "driver=copy-on-read,file.driver=qcow2,file.file.filename=over.qcow2"],
        ["-f", "blkdebug", "blkdebug::over.qcow2"],
        ["json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"filename\":\"over.qcow2\"}}}"],
        ["json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"over.qcow2\"}}"],
        ["json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"qcow2\",\"backing\":{\"driver\":\"qcow2\",\"file\":{\"filename\":\"other.qcow2\"}},"
            + "\"file\":{\"filename\":\"over.qcow2\"}}}"],
    ];

    private static IEnumerable<TestCaseData> Cases(string command, params string[] options) => CommandCases(Images, command, options);

    private static IEnumerable<TestCaseData> AllCases() =>
        Cases("map").Concat(Cases("map", "--output=json")).Concat(Cases("map", "--start-offset=12k", "--max-length=1M"))
            .Concat(Cases("info")).Concat(Cases("info", "--output=json")).Concat(Cases("info", "--backing-chain"));

    [TestCaseSource(nameof(AllCases))]
    public void Qimg_maps_and_names_a_qcow2_over_a_qcow2_as_qemu_img(string[] args)
    {
        MakeImages();
        AssertSame(args);
    }

    /// <summary>outer.raw: the bytes of a qcow2 image (16k clusters, extended L2, data, a zero run, a discarded and a
    /// compressed cluster over base.qcow2) that become the guest data of in.qcow2 (no backing) and of over.qcow2 (4k
    /// clusters over base.qcow2, written only where the outer image has bytes); other.qcow2 is another backing. QEMU
    /// makes them once per run; every test gets them with the same holes (BuiltOnce.Layout).</summary>
    private void MakeImages()
    {
        ToolProcess.Require("qemu-img", "qemu-io");
        BuiltOnce.Layout("nested-qcow2-images", Dir, _ => MakeImagesWithQemu());
    }

    private void MakeImagesWithQemu()
    {
        Sh("qemu-img", "create", "-f", "qcow2", "base.qcow2", "2M");
        Sh("qemu-io", "-c", "write -P 9 0 2M", "base.qcow2");
        Sh("qemu-img", "create", "-f", "qcow2", "other.qcow2", "2M");
        Sh("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=16k,extended_l2=on", "-b", "base.qcow2", "-F", "qcow2", "outer.raw", "2M");
        Sh("qemu-io", "-c", "write -P 1 0 8k", "-c", "write -z 64k 64k", "-c", "write -P 2 1M 1k", "-c", "discard 1536k 4k",
            "-c", "write -c -P 5 1600k 16k", "outer.raw");
        Sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4k", "outer.raw", "in.qcow2");
        Sh("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=4k", "-b", "base.qcow2", "-F", "qcow2", "over.qcow2", "2M");
        long size = new FileInfo(PathOf("outer.raw")).Length;
        Sh("qemu-io", "-f", "qcow2", "-c", $"write -s outer.raw 0 {size}", "over.qcow2");
    }
}
