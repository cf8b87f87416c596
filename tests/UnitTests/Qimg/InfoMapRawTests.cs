using NUnit.Framework;
using Qcow2.Storage;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qimg info and map on raw images, in-process (expected texts are qemu-img 7.2's for the same images).</summary>
[TestFixture]
public class InfoMapRawTests : QimgFixture
{
    /// <summary>A 64 MiB raw image with data at [0, 1 MiB) and [10 MiB, 10 MiB + 4 KiB), holes elsewhere.</summary>
    private void MakeSparseRaw(string name)
    {
        Assert.That(Qimg("create", "-q", "-f", "raw", name, "64M").ExitCode, Is.EqualTo(0));
        using var fs = new FileStream(PathOf(name), FileMode.Open, FileAccess.Write);
        fs.Write(Enumerable.Repeat((byte)1, 1 << 20).ToArray());
        fs.Position = 10 << 20;
        fs.Write(Enumerable.Repeat((byte)2, 4096).ToArray());
    }

    [Test]
    public void Info_human()
    {
        MakeSparseRaw("r.raw");
        string disk = HumanSize.Format((ulong)HostFile.AllocatedBytes(PathOf("r.raw"), 0));
        RunResult r = Qimg("info", "r.raw");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo($"image: r.raw\nfile format: raw\nvirtual size: 64 MiB (67108864 bytes)\ndisk size: {disk}\n"));
    }

    [Test]
    public void Info_json()
    {
        MakeSparseRaw("r.raw");
        long actual = HostFile.AllocatedBytes(PathOf("r.raw"), 0);
        RunResult r = Qimg("info", "--output=json", "r.raw");
        Assert.That(r.Out, Is.EqualTo("{\n    \"virtual-size\": 67108864,\n    \"filename\": \"r.raw\",\n    \"format\": \"raw\",\n"
            + $"    \"actual-size\": {actual},\n    \"dirty-flag\": false\n}}\n"));
    }

    [Test]
    public void Info_backing_chain_json_is_a_list()
    {
        MakeSparseRaw("r.raw");
        RunResult r = Qimg("info", "--output=json", "--backing-chain", "r.raw");
        Assert.That(r.Out, Does.StartWith("[\n    {\n        \"virtual-size\": 67108864,\n"));
        Assert.That(r.Out, Does.EndWith("        \"dirty-flag\": false\n    }\n]\n"));
    }

    [Test]
    public void Info_rounds_a_raw_file_up_to_whole_sectors()
    {
        File.WriteAllBytes(PathOf("odd.raw"), new byte[1000]);
        Assert.That(Qimg("info", "odd.raw").Out, Does.Contain("virtual size: 1 KiB (1024 bytes)\n"));
    }

    [Test]
    public void Info_errors()
    {
        Assert.That(Qimg("info", "nonexist").Err, Is.EqualTo("qimg: Could not open 'nonexist': Could not open 'nonexist': No such file or directory\n"));
        MakeSparseRaw("r.raw");
        Assert.That(Qimg("info", "-f", "qcow2", "r.raw").Err, Is.EqualTo("qimg: Could not open 'r.raw': Image is not in qcow2 format\n"));
        Assert.That(Qimg("info", "-f", "foo", "r.raw").Err, Is.EqualTo("qimg: Could not open 'r.raw': Unknown driver 'foo'\n"));
        Assert.That(Qimg("info", "--image-opts", "-f", "raw", "r.raw").Err, Is.EqualTo("qimg: --image-opts and --format are mutually exclusive\n"));
        Assert.That(Qimg("info", "--image-opts", "r.raw").Err, Is.EqualTo("qimg: Could not open 'r.raw': Cannot find device='r.raw' nor node-name='r.raw'\n"));
    }

    [Test]
    public void Info_image_opts_names_the_file()
    {
        MakeSparseRaw("r.raw");
        RunResult r = Qimg("info", "--image-opts", "driver=raw,file.filename=r.raw");
        Assert.That(r.Out, Does.StartWith("image: r.raw\nfile format: raw\n"));
    }

    [Test]
    public void Map_human_lists_data_extents()
    {
        MakeSparseRaw("r.raw");
        RunResult r = Qimg("map", "r.raw");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo(
            "Offset          Length          Mapped to       File\n"
            + "0               0x100000        0               r.raw\n"
            + "0xa00000        0x1000          0xa00000        r.raw\n"));
    }

    [Test]
    public void Map_json_lists_data_and_holes()
    {
        MakeSparseRaw("r.raw");
        RunResult r = Qimg("map", "--output=json", "r.raw");
        Assert.That(r.Out, Is.EqualTo(
            "[{ \"start\": 0, \"length\": 1048576, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 0},\n"
            + "{ \"start\": 1048576, \"length\": 9437184, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false, \"offset\": 1048576},\n"
            + "{ \"start\": 10485760, \"length\": 4096, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 10485760},\n"
            + "{ \"start\": 10489856, \"length\": 56619008, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false, \"offset\": 10489856}]\n"));
    }

    [Test]
    public void Map_of_a_new_raw_image_shows_qemus_first_block()
    {
        Qimg("create", "-q", "-f", "raw", "n.raw", "1M");
        Assert.That(Qimg("map", "--output=json", "n.raw").Out, Is.EqualTo(
            "[{ \"start\": 0, \"length\": 4096, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 0},\n"
            + "{ \"start\": 4096, \"length\": 1044480, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false, \"offset\": 4096}]\n"));
    }

    [TestCase(new[] { "--start-offset=1000", "--max-length=100" }, "[{ \"start\": 1000, \"length\": 100, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, \"offset\": 1000}]\n")]
    [TestCase(new[] { "--start-offset=100M" }, "[{ \"start\": 104857600, \"length\": 0, \"depth\": 0, \"present\": false, \"zero\": false, \"data\": false}]\n")]
    [TestCase(new[] { "--max-length=0" }, "[{ \"start\": 0, \"length\": 0, \"depth\": 0, \"present\": false, \"zero\": false, \"data\": false}]\n")]
    public void Map_ranges(string[] range, string expected)
    {
        MakeSparseRaw("r.raw");
        Assert.That(Qimg(["map", "--output=json", .. range, "r.raw"]).Out, Is.EqualTo(expected));
    }

    [TestCase("--start-offset=-1", "start offset")]
    [TestCase("--max-length=abc", "max length")]
    public void Map_offset_errors(string arg, string what)
    {
        MakeSparseRaw("r.raw");
        RunResult r = Qimg("map", arg, "r.raw");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Err, Is.EqualTo($"qimg: Invalid {what} specified. You may use k, M, G, T, P or E suffixes for\nqimg: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n"));
    }
}
