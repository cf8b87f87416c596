using NUnit.Framework;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Qio;

/// <summary>
/// Driver nodes set through options (issue 13 item 2) against real qemu-io: the file and null-co protocols as the image,
/// raw with offset and size, the copy-on-read and compress filters, a format over another format or a filter, unknown
/// drivers and options, a backing node's own options (backing.*). Each row opens the same --image-opts on fresh images and runs the same commands; output, exit
/// code, and then the images' allocation (qemu-img map), their check and the raw file's bytes must match.
/// </summary>
[TestFixture]
[ParallelInterop]
public class NodeInteropTests : QioFixture
{
    /// <summary>The commands of the rows about opening a node: a read, a dump, the node's info and its map.</summary>
    private const string Probe = "read -P 1 0 512;read -v 0 16;info;map";

    /// <summary>The commands of the rows about a backing node's options: a read through to the backing data, and the map.</summary>
    private const string ReadBacking = "read -P 2 64k 512;map";

    /// <summary>Options of the backing node of c.qcow2 (whose backing file is b.qcow2), each read through to the backing data.</summary>
    private static readonly string[] BackingOptions =
    [
        "backing.driver=raw",
        "backing.lazy-refcounts=foo",
        "backing.foo=bar",
        "backing.file.filename=a.qcow2",
        "backing.l2-cache-size=abc",
        "backing=",
        "backing=null",
        "backing.driver=null-co",
        "backing.file.locking=x",
        "backing.read-only=off",
        "backing.node-name=1x",
        "backing.driver=copy-on-read,backing.file.driver=qcow2,backing.file.file.filename=b.qcow2",
        "backing.file.filename=b.qcow2",
        "backing.driver=qcow2,backing.file.driver=file,backing.file.filename=b.qcow2",
        "backing.driver=raw,backing.offset=512",
    ];

    private static IEnumerable<TestCaseData> BackingCases() =>
        BackingOptions.Select(o => new TestCaseData("driver=qcow2,file.filename=c.qcow2," + o, ReadBacking));

    [TestCase("driver=null-co,size=1M", Probe)]
    [TestCase("driver=null-co", Probe)]
    [TestCase("driver=null-co,read-zeroes=on,size=1M", Probe)]
    [TestCase("driver=null-co,foo=1", Probe)]
    [TestCase("driver=null-aio,size=1M", Probe)]
    [TestCase("driver=file,filename=a.qcow2", Probe)]
    [TestCase("driver=file", Probe)]
    [TestCase("driver=raw,offset=512,size=4096,file.filename=a.qcow2", Probe)]
    [TestCase("driver=raw,offset=1M,file.filename=a.qcow2", Probe)]
    [TestCase("driver=raw,size=513,file.filename=a.qcow2", Probe)]
    [TestCase("driver=raw,offset=65536,file.filename=a.qcow2", Probe)]
    [TestCase("driver=raw,offset=abc,file.filename=a.qcow2", Probe)]
    [TestCase("driver=raw,size=1G,file.filename=a.qcow2", Probe)]
    [TestCase("driver=copy-on-read,file.filename=a.qcow2", Probe)]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=a.qcow2", Probe)]
    [TestCase("driver=compress,file.driver=qcow2,file.file.filename=a.qcow2", Probe)]
    [TestCase("driver=compress,file.filename=a.qcow2", Probe)]
    [TestCase("driver=qcow2,file.driver=qcow2,file.file.filename=a.qcow2", Probe)]
    [TestCase("driver=raw,file.driver=qcow2,file.file.filename=a.qcow2", Probe)]
    [TestCase("driver=foo,file.filename=a.qcow2", Probe)]
    [TestCase("driver=qcow2,file.driver=foo,file.filename=a.qcow2", Probe)]
    [TestCase("driver=copy-on-read", Probe)]
    [TestCase("driver=qcow2,file.driver=null-co,file.size=1M", Probe)]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=a.qcow2,foo=bar", Probe)]
    [TestCase("driver=compress,file.driver=qcow2,file.file.filename=a.qcow2,file.foo=bar", Probe)]
    [TestCase("driver=raw,file.driver=raw,file.file.filename=a.qcow2", Probe)]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=c.qcow2", "read -P 2 64k 512;map;read -P 0 0 4k;map;read 512k 4k;map;read -P 0 900k 200k")]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=a.qcow2", "read 128k 4k;map;write -P 3 256k 4k;map")]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=c.qcow2,file.read-only=on", "read 64k 4k;map")]
    [TestCase("driver=compress,file.driver=qcow2,file.file.filename=a.qcow2", "write -P 5 128k 64k;map;read -P 5 128k 64k")]
    [TestCase("driver=compress,file.driver=qcow2,file.file.filename=a.qcow2", "write -P 5 128k 4k")]
    [TestCase("driver=compress,file.driver=qcow2,file.file.filename=a.qcow2", "write -P 5 132k 64k")]
    [TestCase("driver=compress,file.driver=qcow2,file.file.filename=a.qcow2", "write -z 128k 64k;discard 0 64k;map")]
    [TestCase("driver=raw,offset=4096,size=8192,file.filename=r.raw", "write -P 9 0 8k;write 8k 512;read -P 9 0 8k;map;length")]
    [TestCase("driver=raw,offset=1M,file.filename=r.raw", "write 0 512;length;map")]
    [TestCase("driver=raw,file.driver=qcow2,file.file.filename=a.qcow2", "write -P 4 128k 4k;read -P 4 128k 4k;map;discard 0 64k;map;write -z 64k 64k;map")]
    [TestCase("driver=qcow2,file.driver=raw,file.file.filename=a.qcow2", "write -P 4 128k 4k;read -P 1 0 64k;map")]
    [TestCase("driver=qcow2,file.driver=raw,file.offset=0,file.file.filename=a.qcow2", "read -P 1 0 64k")]
    [TestCase("driver=null-co,size=1M", "write 0 4k;read 0 4k;discard 0 4k;write -z 0 4k;write -c 0 64k;flush;map")]
    [TestCase("driver=null-co,read-zeroes=on,size=1M", "read -P 0 0 4k;write 1M 512;truncate 2M;length")]
    [TestCase("driver=file,filename=r.raw", "write -P 6 0 4k;read -P 6 0 4k;map;truncate 2M;length;discard 0 4k;write -z 4k 4k")]
    [TestCase("driver=file,filename=r.raw,locking=x", "read 0 512")]
    [TestCase("driver=file,filename=r.raw,foo=bar", "read 0 512")]
    [TestCase("driver=file,filename=nonexist", "read 0 512")]
    [TestCase("driver=qcow2,file.driver=file,file.filename=a.qcow2", "read -P 1 0 64k")]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=c.qcow2,discard=x", "read 0 512")]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=c.qcow2,read-only=x", "read 0 512")]
    [TestCase("driver=copy-on-read,file.driver=qcow2,file.file.filename=c.qcow2,file.foo=x", "read 0 512")]
    [TestCase("driver=copy-on-read,file.driver=raw,file.file.filename=r.raw", "read 0 512;map")]
    [TestCase("driver=compress,file.driver=raw,file.file.filename=r.raw", "read 0 512")]
    [TestCase("driver=copy-on-read,file.driver=compress,file.file.driver=qcow2,file.file.file.filename=a.qcow2", "write -P 8 192k 64k;read -P 8 192k 64k;map")]
    [TestCase("driver=qcow2,file.driver=blkdebug,file.image.filename=a.qcow2", "read -P 1 0 512;info;map")]
    [TestCase("driver=qcow2,file.driver=blkdebug,file.image.driver=file,file.image.filename=c.qcow2", "read -P 2 64k 512;map")]
    [TestCase("driver=qcow2,file.driver=blkdebug", "read 0 512")]
    [TestCase("driver=qcow2,file.locking=off", "read 0 512")]
    [TestCase("driver=qcow2,file.image.filename=a.qcow2", "read 0 512")]
    [TestCaseSource(nameof(BackingCases))]
    public void Nodes_behave_as_in_qemu_io(string imageOpts, string commands)
    {
        string[] args = [.. CommandArgs(commands), "--image-opts", imageOpts];
        string real = RunOnFreshImages(() => ToolProcess.Run("qemu-io", Dir, [.. args]));
        string ours = RunOnFreshImages(() => InProcess.Qio(Dir, [.. args]));
        Assert.That(ours, Is.EqualTo(real.Replace("qemu-io", "qio")), "qio " + string.Join(' ', args));
    }

    /// <summary>null-co:// and null-aio:// as file names: the null protocol under a probed raw (with its warning) or a
    /// given format, any other name after the prefix refused.</summary>
    [TestCase("-c", "info", "-c", "read -v 0 16", "null-co://")]
    [TestCase("-f", "raw", "-c", "info", "-c", "write 0 4k", "null-co://")]
    [TestCase("-f", "qcow2", "-c", "info", "null-co://")]
    [TestCase("-c", "info", "null-co://x")]
    [TestCase("-f", "null-co", "-c", "info", "-c", "length", "null-co://")]
    [TestCase("-c", "info", "null-aio://")]
    [TestCase("-c", "info", "--image-opts", "driver=raw,file.driver=null-co")]
    public void Null_protocol_names_as_in_qemu_io(params string[] args)
    {
        string real = RunOnFreshImages(() => ToolProcess.Run("qemu-io", Dir, args));
        string ours = RunOnFreshImages(() => InProcess.Qio(Dir, args));
        Assert.That(ours, Is.EqualTo(real.Replace("qemu-io", "qio")), "qio " + string.Join(' ', args));
    }

    /// <summary>qemu-img map --output=json and check of each image as QEMU made it, asked once per run: a run that leaves
    /// an image's bytes as they were leaves its map and check as they were.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<string>> PristineState = new(StringComparer.Ordinal);

    /// <summary>a.qcow2 (64 KiB of 0x01), b.qcow2 (data and a zero cluster) under c.qcow2, a 1 MiB raw file; the run, then
    /// the state of each. QEMU makes the qcow2 images once per run (BuiltOnce.Layout writes them back with their holes,
    /// which raw and file nodes map as zeros); an image the run left as it was (bytes and holes) reports the map and check QEMU gave for it.</summary>
    private string RunOnFreshImages(Func<ToolRun> run)
    {
        foreach (string f in Directory.GetFiles(Dir))
        {
            File.Delete(f);
        }
        BuiltOnce.Layout("node-interop-images", Dir, _ =>
        {
            ToolProcess.Run("qemu-img", Dir, "create", "-f", "qcow2", "a.qcow2", "1M");
            ToolProcess.Run("qemu-io", Dir, "-c", "write -P 1 0 64k", "a.qcow2");
            ToolProcess.Run("qemu-img", Dir, "create", "-f", "qcow2", "b.qcow2", "1M");
            ToolProcess.Run("qemu-io", Dir, "-c", "write -P 2 64k 128k", "-c", "write -z 512k 64k", "b.qcow2");
            ToolProcess.Run("qemu-img", Dir, "create", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", "c.qcow2");
        });
        using (var raw = File.Create(PathOf("r.raw")))
        {
            raw.SetLength(1 << 20);
        }
        var before = new[] { "a.qcow2", "c.qcow2" }.ToDictionary(i => i, i => SparseBytes.Read(PathOf(i)));
        var pristine = before.ToDictionary(p => p.Key, p => PristineState.GetOrAdd(p.Key, _ => new Lazy<string>(() => ImageState(p.Key))).Value);
        ToolRun r = run();
        var state = new System.Text.StringBuilder();
        state.Append(FilterTiming(r.Out)).Append("--- stderr\n").Append(r.Err).Append($"--- exit {r.ExitCode}\n");
        foreach (string image in new[] { "a.qcow2", "c.qcow2" })
        {
            bool unchanged = File.Exists(PathOf(image)) && SparseBytes.Read(PathOf(image)).SameAs(before[image]);
            state.Append(unchanged ? pristine[image] : ImageState(image));
        }
        state.Append(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(PathOf("r.raw")))));
        return state.ToString();
    }

    /// <summary>qemu-img map --output=json and qemu-img check of an image in the test's folder.</summary>
    private string ImageState(string image) =>
        ToolProcess.Run("qemu-img", Dir, "map", "--output=json", image).Out + ToolProcess.Run("qemu-img", Dir, "check", image).Out;
}
