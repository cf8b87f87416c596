using NUnit.Framework;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Qio;

/// <summary>
/// qemu-io's reopen (issue 13 item 4) against real qemu-io: options joined to the ones the image was opened with and
/// checked by every node before anything changes ("Cannot change the option", the block layer's and qcow2's messages, in
/// QEMU's order), -r/-w/-c and their conflicts, runtime changes made in place (lazy refcounts keep the image dirty
/// across a reopen that does not turn them off, and turning them off makes it clean), a refused reopen leaving the image
/// as it was. Each row runs the same commands on fresh images; output, exit code and the header's feature bits match.
/// </summary>
[TestFixture]
[ParallelInterop]
public class ReopenInteropTests : QioFixture
{
    [TestCase("a.qcow2", "", "reopen -o foo=bar")]
    [TestCase("a.qcow2", "", "reopen -o driver=raw")]
    [TestCase("a.qcow2", "", "reopen -o driver=qcow2")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=on;write 0 64k;sigraise 9")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=on;write 0 64k;reopen -o l2-cache-size=1M;sigraise 9")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=on;write 0 64k;reopen -o lazy-refcounts=off;sigraise 9")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=on;write 0 64k;reopen -r;sigraise 9")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=on;write 0 64k;reopen -c none;sigraise 9")]
    [TestCase("a.qcow2", "", "reopen -o l2-cache-size=abc")]
    [TestCase("a.qcow2", "", "reopen -o overlap-check=none;write 0 4k")]
    [TestCase("a.qcow2", "", "reopen -o overlap-check=foo")]
    [TestCase("a.qcow2", "", "reopen -r;write 0 4k")]
    [TestCase("a.qcow2", "", "reopen -r;reopen -w;write 0 4k")]
    [TestCase("a.qcow2", "", "reopen -r -w")]
    [TestCase("a.qcow2", "", "reopen -o read-only=on -r")]
    [TestCase("a.qcow2", "", "reopen -o read-only=on")]
    [TestCase("a.qcow2", "", "reopen -o read-only=on,foo=bar")]
    [TestCase("a.qcow2", "", "reopen -r;reopen -o read-only=on")]
    [TestCase("a.qcow2", "", "reopen -r;reopen -w;reopen -o read-only=on;write 0 4k")]
    [TestCase("a.qcow2", "", "reopen -r;reopen -w;write 0 4k;reopen -o read-only=on;read 0 4k")]
    [TestCase("a.qcow2", "", "reopen -r;reopen -w;discard 0 4k;reopen -o read-only=on")]
    [TestCase("a.qcow2", "-r", "reopen -o read-only=off;write 0 4k")]
    [TestCase("a.qcow2", "", "reopen -c none")]
    [TestCase("a.qcow2", "", "reopen -c foo")]
    [TestCase("a.qcow2", "", "reopen -c writethrough -o cache.direct=on")]
    [TestCase("a.qcow2", "", "reopen -c writethrough -o cache.no-flush=on")]
    [TestCase("a.qcow2", "", "reopen -o cache.direct=on")]
    [TestCase("a.qcow2", "", "reopen -o file.filename=b.qcow2")]
    [TestCase("a.qcow2", "", "reopen -o file.filename=a.qcow2")]
    [TestCase("a.qcow2", "", "reopen -o file.filename=./a.qcow2")]
    [TestCase("a.qcow2", "", "reopen -o file.locking=off")]
    [TestCase("a.qcow2", "", "reopen -o file.driver=file")]
    [TestCase("a.qcow2", "", "reopen -o file.driver=raw")]
    [TestCase("a.qcow2", "", "reopen -o file.drop-cache=off")]
    [TestCase("a.qcow2", "", "reopen -o file.drop-cache=foo")]
    [TestCase("a.qcow2", "", "reopen -o file.locking=off,file.foo=bar")]
    [TestCase("a.qcow2", "", "reopen -o file.foo=bar,foo=bar")]
    [TestCase("a.qcow2", "", "reopen -o file.foo=bar,overlap-check=foo")]
    [TestCase("a.qcow2", "", "reopen -o discard=unmap")]
    [TestCase("a.qcow2", "", "reopen -o discard=foo")]
    [TestCase("a.qcow2", "", "reopen -o detect-zeroes=foo")]
    [TestCase("a.qcow2", "", "reopen -o detect-zeroes=unmap,discard=ignore")]
    [TestCase("a.qcow2", "", "reopen -o discard=unmap,detect-zeroes=unmap")]
    [TestCase("a.qcow2", "", "reopen -o read-only=foo")]
    [TestCase("a.qcow2", "", "reopen -o read-only=on,discard=foo")]
    [TestCase("a.qcow2", "", "reopen -o cache.no-flush=foo")]
    [TestCase("a.qcow2", "", "reopen -o auto-read-only=on")]
    [TestCase("a.qcow2", "", "reopen -o force-share=on")]
    [TestCase("a.qcow2", "-r -U", "reopen -o force-share=on")]
    [TestCase("a.qcow2", "", "reopen -o backing.foo=bar")]
    [TestCase("a.qcow2", "", "reopen -o backing=")]
    [TestCase("a.qcow2", "", "reopen -o file=x")]
    [TestCase("a.qcow2", "", "reopen -o node-name=")]
    [TestCase("a.qcow2", "", "reopen -o file.node-name=x")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=foo")]
    [TestCase("a.qcow2", "", "reopen -o foo")]
    [TestCase("a.qcow2", "", "reopen -o =x")]
    [TestCase("a.qcow2", "", "reopen -o foo=1,bar=2,baz=3")]
    [TestCase("a.qcow2", "", "reopen -o cache-clean-interval=-1")]
    [TestCase("a.qcow2", "", "reopen -o cache.direct=on,cache.direct=off")]
    [TestCase("a.qcow2", "", "reopen x")]
    [TestCase("v2.qcow2", "", "reopen -o lazy-refcounts=on")]
    [TestCase("c.qcow2", "", "reopen -o backing.foo=bar")]
    [TestCase("c.qcow2", "", "reopen -o backing.lazy-refcounts=foo,file.drop-cache=foo")]
    [TestCase("c.qcow2", "", "reopen -o file.drop-cache=foo,backing.read-only=foo")]
    [TestCase("c.qcow2", "", "reopen -o backing.file.locking=off")]
    [TestCase("c.qcow2", "", "reopen -o backing.driver=raw")]
    [TestCase("c.qcow2", "", "reopen -o backing.driver=qcow2")]
    [TestCase("c.qcow2", "", "reopen -o backing.file.filename=b.qcow2")]
    [TestCase("c.qcow2", "", "reopen -o backing.node-name=x")]
    [TestCase("c.qcow2", "", "reopen -o backing.lazy-refcounts=on")]
    [TestCase("c.qcow2", "", "reopen -o backing=")]
    [TestCase("a.qcow2", "-f qcow2", "reopen -o driver=qcow2")]
    [TestCase("driver=qcow2,file.filename=./a.qcow2", "--image-opts", "reopen -o file.filename=a.qcow2")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=on;reopen -o l2-cache-size=1M;write 0 64k;sigraise 9")]
    [TestCase("a.qcow2", "", "reopen -o lazy-refcounts=on,foo=bar;write 0 64k;sigraise 9")]
    [TestCase("a.qcow2", "", "write -P 1 0 64k;reopen -o l2-cache-size=8k,refcount-cache-size=8k;write -P 2 64k 64k;read -P 1 0 64k;read -P 2 64k 64k")]
    public void Reopen_behaves_as_in_qemu_io(string image, string flags, string commands)
    {
        string[] args = [.. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), .. CommandArgs(commands), image];
        var (realOut, realErr, realCode, realHeader) = RunOnFreshImages(() => ToolProcess.Run("qemu-io", Dir, [.. args]));
        var (ourOut, ourErr, ourCode, ourHeader) = RunOnFreshImages(() => InProcess.Qio(Dir, [.. args]));
        string what = "qio " + string.Join(' ', args);
        Assert.Multiple(() =>
        {
            Assert.That(FilterTiming(ourOut), Is.EqualTo(FilterTiming(realOut.Replace("qemu-io", "qio"))), $"stdout of {what}");
            Assert.That(MaskNodeNames(ourErr), Is.EqualTo(MaskNodeNames(realErr.Replace("qemu-io", "qio"))), $"stderr of {what}");
            if (!commands.Contains("sigraise"))
            {
                Assert.That(ourCode, Is.EqualTo(realCode), $"exit code of {what}");
            }
            Assert.That(ourHeader, Is.EqualTo(realHeader), $"header of a.qcow2 (incompatible features at 72) after {what}");
        });
    }

    /// <summary>Generated node names count per process (QEMU's counter is process-wide), as iotests' filter masks them.</summary>
    private static string MaskNodeNames(string text) => System.Text.RegularExpressions.Regex.Replace(text, "#block[0-9]+", "#blockN");

    /// <summary>The images a row may name with qemu-img create's arguments for each, made once and copied.</summary>
    private static readonly (string Name, string[] Create)[] FreshImages =
    [
        ("a.qcow2", ["a.qcow2", "1M"]),
        ("b.qcow2", ["b.qcow2", "1M"]),
        ("c.qcow2", ["-b", "b.qcow2", "-F", "qcow2", "c.qcow2"]),
        ("v2.qcow2", ["-o", "compat=0.10", "v2.qcow2", "1M"]),
    ];

    /// <summary>Makes the images a row may name (a.qcow2, a v2 image, c.qcow2 over b.qcow2), runs, returns the run and
    /// the first 104 header bytes of a.qcow2 (or of the image the row names).</summary>
    private (string Out, string Err, int Code, string Header) RunOnFreshImages(Func<ToolRun> run)
    {
        foreach (string f in Directory.GetFiles(Dir, "*.qcow2"))
        {
            File.Delete(f);
        }
        foreach (var (name, create) in FreshImages)
        {
            BuiltOnce.File("reopen-" + name, PathOf(name), _ => ToolProcess.Must("qemu-img", Dir, ["create", "-f", "qcow2", .. create]));
        }
        ToolRun r = run();
        byte[] header = File.ReadAllBytes(PathOf("a.qcow2")).AsSpan(0, 104).ToArray();
        return (r.Out, r.Err, r.ExitCode, Convert.ToHexString(header));
    }
}
