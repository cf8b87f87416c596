using NUnit.Framework;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// How QEMU names an opened node tree (bs->filename, bdrv_refresh_filename; issue 13): a plain name where the format sits
/// over a protocol node with no strong option, "json:{...}" in QDict order where strong options (raw's offset and size,
/// null-co's size and read-zeroes, blkdebug's align) or a format or filter over another node make it one, blkdebug's own
/// blkdebug:CONFIG:IMAGE. qemu-img info (human and JSON) and map show the name; each row runs the same command line with
/// real qemu-img and qimg on the same fresh images and requires the same output and exit code.
/// </summary>
[TestFixture]
[ParallelInterop]
public class NodeNameInteropTests : QimgFixture
{
    /// <summary>Image arguments (the last ones of a command line) whose node trees QEMU names in different ways.</summary>
    private static readonly string[][] Images =
    [
        ["json:{\"driver\":\"raw\",\"offset\":512,\"size\":4096,\"file\":{\"driver\":\"file\",\"filename\":\"a.qcow2\"}}"],
        ["json:{\"driver\":\"null-co\",\"read-zeroes\":true,\"size\":1048576}"],
        ["json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"a.qcow2\",\"locking\":\"off\"}}"],
        ["json:{\"driver\":\"qcow2\",\"lazy-refcounts\":true,\"file\":{\"filename\":\"a.qcow2\"}}"],
        ["json:{\"file\":{\"filename\":\"b.qcow2\"}}"],
        ["json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"raw\",\"offset\":0,\"file\":{\"filename\":\"a.qcow2\"}}}"],
        ["json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"blkdebug\",\"image\":{\"filename\":\"b.qcow2\"}}}"],
        ["--image-opts", "driver=null-co,size=1M"],
        ["--image-opts", "driver=null-co"],
        ["--image-opts", "driver=null-co,read-zeroes=on"],
        ["--image-opts", "driver=null-co,latency-ns=5"],
        ["--image-opts", "driver=qcow2,file.driver=blkdebug,file.image.filename=a.qcow2"],
        ["--image-opts", "driver=qcow2,file.driver=blkdebug,file.image.filename=b.qcow2"],
        ["--image-opts", "driver=qcow2,file.driver=blkdebug,file.image.driver=file,file.image.filename=b.qcow2"],
        ["--image-opts", "driver=qcow2,file.driver=blkdebug,file.image.filename=a.qcow2,file.config=bd.cfg"],
        ["--image-opts", "driver=qcow2,file.filename=a.qcow2,file.locking=off"],
        ["--image-opts", "driver=qcow2,file.filename=a.qcow2,file.aio=threads"],
        ["--image-opts", "driver=qcow2,file.driver=raw,file.offset=0,file.file.filename=a.qcow2"],
        ["--image-opts", "driver=qcow2,file.driver=raw,file.file.filename=b.qcow2"],
        ["--image-opts", "driver=raw,file.driver=qcow2,file.file.filename=a.qcow2"],
        ["--image-opts", "driver=compress,file.driver=qcow2,file.file.filename=a.qcow2"],
        ["--image-opts", "driver=raw,offset=512,size=4096,file.filename=a.qcow2"],
        ["--image-opts", "driver=raw,offset=512,file.filename=a.qcow2"],
        ["--image-opts", "driver=raw,file.filename=a.qcow2"],
        ["--image-opts", "driver=file,filename=a.qcow2"],
        ["--image-opts", "driver=file,filename=a.qcow2,locking=off"],
        ["--image-opts", "driver=qcow2,file.filename=a.qcow2,lazy-refcounts=on"],
        ["--image-opts", "file.filename=b.qcow2"],
        ["blkdebug::a.qcow2"],
        ["blkdebug:bd.cfg:a.qcow2"],
        ["blkdebug::b.qcow2"],
        ["file:b.qcow2"],
        ["null-co://"],
        ["-f", "raw", "null-co://"],
        ["-f", "raw", "a.qcow2"],
        ["file:a:b.qcow2"],
        ["--image-opts", "driver=qcow2,file.locking=off"],
        ["--image-opts", "driver=qcow2,file.driver=blkdebug"],
        ["--image-opts", "driver=qcow2"],
    ];

    private static IEnumerable<TestCaseData> Cases(string command, params string[] options) => CommandCases(Images, command, options);

    private static IEnumerable<TestCaseData> InfoCases() => Cases("info").Concat(Cases("info", "--output=json"));

    private static IEnumerable<TestCaseData> MapCases() => Cases("map").Concat(Cases("map", "--output=json"));

    [TestCaseSource(nameof(InfoCases))]
    public void Qimg_info_names_the_node_tree_as_qemu_img(string[] args)
    {
        MakeImages();
        AssertSame(args);
    }

    [TestCaseSource(nameof(MapCases))]
    public void Qimg_map_names_the_data_node_as_qemu_img(string[] args)
    {
        MakeImages();
        AssertSame(args);
    }

    /// <summary>a.qcow2 (64 KiB of data at 0) under b.qcow2 (64 KiB at 64 KiB), a copy of a.qcow2 whose name looks like
    /// it has a protocol, and a blkdebug config file. QEMU makes them once per run; every test gets them with the same
    /// holes (BuiltOnce.Layout).</summary>
    private void MakeImages()
    {
        ToolProcess.Require("qemu-img", "qemu-io");
        BuiltOnce.Layout("node-name-images", Dir, _ => MakeImagesWithQemu());
    }

    private void MakeImagesWithQemu()
    {
        Sh("qemu-img", "create", "-f", "qcow2", "a.qcow2", "1M");
        Sh("qemu-io", "-c", "write -P 1 0 64k", "a.qcow2");
        Sh("qemu-img", "create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", "b.qcow2");
        Sh("qemu-io", "-c", "write -P 2 64k 64k", "b.qcow2");
        File.WriteAllText(PathOf("bd.cfg"), "[inject-error]\nevent = \"l1_update\"\n");
        File.Copy(PathOf("a.qcow2"), PathOf("a:b.qcow2"));
    }
}
