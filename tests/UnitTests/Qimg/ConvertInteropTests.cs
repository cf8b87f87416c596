using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// qimg convert against real qemu-img 7.2 convert: the same command on the same QEMU-made inputs must give a
/// byte-identical output file and the same stdout, stderr and exit code (inconclusive when QEMU is not installed).
/// </summary>
[TestFixture]
public class ConvertInteropTests : QimgFixture
{
    /// <summary>
    /// Sources with data, holes, zero clusters, compressed clusters, a backing chain, a snapshot and odd cluster sizes;
    /// QEMU makes them once per run and every test gets copies, with QEMU's holes (BuiltOnce.Layout), of the inputs its
    /// arguments name (and base.qcow2 under top.qcow2): copying all of them for every test wrote 1.7 GB a run.
    /// </summary>
    private void MakeInputs(string args) => BuiltOnce.Layout("convert-inputs", Dir, _ => MakeInputsWithQemu(),
        name => args.Contains(name, StringComparison.Ordinal) || (name == "base.qcow2" && args.Contains("top.qcow2", StringComparison.Ordinal)));

    private void MakeInputsWithQemu()
    {
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "plain.qcow2", "16M");
        Sh("qemu-io", "-c", "write -P 1 0 3M", "-c", "write -P 2 5M 1M", "-c", "write -z 7M 1M", "-c", "write -P 3 9M 4k",
            "-c", "write -P 4 9445376 512", "-c", "write -P 0 10M 64k", "-c", "write -P 5 15M 1M", "plain.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "comp.qcow2", "4M");
        Sh("qemu-io", "-c", "write -c -P 7 0 1M", "-c", "write -P 8 2M 64k", "comp.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "8M");
        Sh("qemu-io", "-c", "write -P 1 0 4M", "base.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", "10M");
        Sh("qemu-io", "-c", "write -P 9 1M 1M", "-c", "write -z 3M 1M", "-c", "write -P 9 9M 512k", "top.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "snap.qcow2", "4M");
        Sh("qemu-io", "-c", "write -P 1 0 2M", "snap.qcow2");
        Sh("qemu-img", "snapshot", "-c", "s1", "snap.qcow2");
        Sh("qemu-io", "-c", "write -P 2 0 1M", "-c", "write -P 3 3M 1M", "snap.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "raw", "holes.raw", "4M");
        Sh("qemu-io", "-f", "raw", "-c", "write -P 6 1M 100k", "-c", "write -P 6 3M 4k", "holes.raw");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", "c512.qcow2", "3M");
        Sh("qemu-io", "-c", "write -P 1 0 1M", "-c", "write -P 2 2M 1k", "c512.qcow2");
        File.WriteAllBytes(PathOf("odd.raw"), Enumerable.Range(0, 70001).Select(i => (byte)(i * 7)).ToArray());
    }

    /// <summary>Runs the command with each tool (output "out.q" for qemu-img, "out.m" for qimg) and compares the texts.</summary>
    private void RunBoth(string[] args, out string qemuOut, out string qimgOut)
    {
        (qemuOut, qimgOut) = ("out.q", "out.m");
        ConvertBoth(args);
    }

    [TestCase("-O qcow2 plain.qcow2")]
    [TestCase("plain.qcow2")]
    [TestCase("-O qcow2 comp.qcow2")]
    [TestCase("-O qcow2 top.qcow2")]
    [TestCase("top.qcow2")]
    [TestCase("-c -O qcow2 top.qcow2")]
    [TestCase("-c -O qcow2 plain.qcow2 odd.raw")]
    [TestCase("-S 0 -O qcow2 plain.qcow2")]
    [TestCase("-S 0 top.qcow2")]
    [TestCase("-S 64k -O qcow2 plain.qcow2")]
    [TestCase("-O qcow2 -o cluster_size=512 holes.raw")]
    [TestCase("-O qcow2 -o cluster_size=2M plain.qcow2")]
    [TestCase("-O qcow2 -o compat=0.10 plain.qcow2")]
    [TestCase("-O qcow2 -o refcount_bits=1,lazy_refcounts=on plain.qcow2")]
    [TestCase("-O qcow2 -o preallocation=metadata c512.qcow2")]
    [TestCase("-O qcow2 c512.qcow2")]
    [TestCase("-O qcow2 -B base.qcow2 -F qcow2 top.qcow2")]
    [TestCase("-O qcow2 -B top.qcow2 -F qcow2 top.qcow2")]
    [TestCase("-O qcow2 -o backing_file=base.qcow2,backing_fmt=qcow2 -S 0 top.qcow2")]
    [TestCase("-O qcow2 -B base.qcow2 -F qcow2 holes.raw")]
    [TestCase("-l s1 -O qcow2 snap.qcow2")]
    [TestCase("-l snapshot.name=s1 snap.qcow2")]
    [TestCase("-l snapshot.id=1,snapshot.name=s1 -O qcow2 snap.qcow2 plain.qcow2")]
    [TestCase("-O qcow2 plain.qcow2 holes.raw c512.qcow2 odd.raw")]
    [TestCase("-f raw holes.raw")]
    [TestCase("-C -O qcow2 plain.qcow2")]
    [TestCase("-C -O qcow2 comp.qcow2 plain.qcow2")]
    [TestCase("-p -O qcow2 plain.qcow2")]
    [TestCase("-p -S 0 top.qcow2")]
    [TestCase("-p -q -O qcow2 plain.qcow2")]
    [TestCase("-q -m 3 -t writethrough -T none -U -O qcow2 top.qcow2")]
    public void Output_is_byte_identical(string args)
    {
        MakeInputs(args);
        RunBoth(args.Split(' '), out string qemuOut, out string qimgOut);
        FileBytes.AssertSame(PathOf(qimgOut), PathOf(qemuOut), $"convert {args}");
        if (args.Contains("-O qcow2", StringComparison.Ordinal))
        {
            Sh("qemu-img", "check", "-q", qimgOut);
        }
    }

    [TestCase("--bitmaps -O qcow2 bm.qcow2")]
    [TestCase("--bitmaps -c -O qcow2 -o cluster_size=4k bm.qcow2")]
    [TestCase("--bitmaps --skip-broken-bitmaps -p -O qcow2 bm.qcow2")]
    public void Bitmaps_are_copied_byte_identically(string args)
    {
        MakeInputs("plain.qcow2");
        File.Copy(PathOf("plain.qcow2"), PathOf("bm.qcow2"));
        Sh("qemu-img", "bitmap", "--add", "bm.qcow2", "b1");
        Sh("qemu-img", "bitmap", "--add", "-g", "128k", "--disable", "bm.qcow2", "b2");
        Sh("qemu-io", "-c", "write 0 64k", "-c", "write 5M 1M", "bm.qcow2");
        RunBoth(args.Split(' '), out string qemuOut, out string qimgOut);
        FileBytes.AssertSame(PathOf(qimgOut), PathOf(qemuOut), $"convert {args}");
        Sh("qemu-img", "check", "-q", qimgOut);
    }

    [Test]
    public void Existing_targets_are_overwritten_as_qemu_does()
    {
        MakeInputs("plain.qcow2");
        foreach (string name in new[] { "out.q", "out.m" })
        {
            Sh("qemu-img", "create", "-q", "-f", "qcow2", name, "16M");
            Sh("qemu-io", "-c", "write -P 0x55 0 16M", name);
        }
        RunBoth(["-n", "-O", "qcow2", "plain.qcow2"], out string qemuOut, out string qimgOut);
        FileBytes.AssertSame(PathOf(qimgOut), PathOf(qemuOut));
    }

    [Test]
    public void Out_of_order_writes_give_the_same_guest_data()
    {
        // With -W qemu-img's parallel writers allocate in a nondeterministic order; qimg writes in order, which -W permits.
        MakeInputs("plain.qcow2");
        RunBoth(["-W", "-O", "qcow2", "plain.qcow2"], out string qemuOut, out string qimgOut);
        Sh("qemu-img", "compare", "-q", qemuOut, qimgOut);
        Sh("qemu-img", "check", "-q", qimgOut);
    }

    [TestCase("")]
    [TestCase("plain.qcow2")]
    [TestCase("-O foo plain.qcow2")]
    [TestCase("-s s1 snap.qcow2")]
    [TestCase("-l nosnap snap.qcow2")]
    [TestCase("-l s1 snap.qcow2 snap.qcow2")]
    [TestCase("-l snapshot.foo=1 snap.qcow2")]
    [TestCase("-l snapshot.id=9 snap.qcow2")]
    [TestCase("-l s1 holes.raw")]
    [TestCase("-n -o cluster_size=4k snap.qcow2")]
    [TestCase("-S 7 snap.qcow2")]
    [TestCase("-S 100G snap.qcow2")]
    [TestCase("-S -1 snap.qcow2")]
    [TestCase("-m 0 snap.qcow2")]
    [TestCase("-m 17 snap.qcow2")]
    [TestCase("-m abc snap.qcow2")]
    [TestCase("-C -c snap.qcow2")]
    [TestCase("-C -S 0 snap.qcow2")]
    [TestCase("-C --salvage snap.qcow2")]
    [TestCase("--target-image-opts snap.qcow2")]
    [TestCase("--target-is-zero snap.qcow2")]
    [TestCase("-n --target-is-zero -B x snap.qcow2")]
    [TestCase("--skip-broken-bitmaps snap.qcow2")]
    [TestCase("--bitmaps snap.qcow2 holes.raw")]
    [TestCase("--bitmaps -f raw holes.raw")]
    [TestCase("-T foo snap.qcow2")]
    [TestCase("-t foo snap.qcow2")]
    [TestCase("-O raw -c snap.qcow2")]
    [TestCase("-B snap.qcow2 -O qcow2 snap.qcow2")]
    [TestCase("-B snap.qcow2 -F qcow2 snap.qcow2")]
    [TestCase("-O qcow2 -B snap.qcow2 -F qcow2 snap.qcow2 holes.raw")]
    [TestCase("-O qcow2 -o cluster_size=3k snap.qcow2")]
    [TestCase("-O qcow2 -o foo=bar snap.qcow2")]
    [TestCase("-c -O qcow2 -o preallocation=metadata snap.qcow2")]
    [TestCase("-x snap.qcow2")]
    [TestCase("-r -5 snap.qcow2")]
    [TestCase("-p nonexist")]
    [TestCase("--image-opts snap.qcow2")]
    [TestCase("-O qcow2 -o help")]
    [TestCase("-o help snap.qcow2")]
    public void Messages_match(string args)
    {
        MakeInputs(args);
        string[] argv = args.Length == 0 ? [] : args.Split(' ');
        RunBoth(argv, out _, out _);
    }

    [TestCase("-O qcow2 top.qcow2 base.qcow2")]
    [TestCase("-p -O raw top.qcow2 ./top.qcow2")]
    [TestCase("-n top.qcow2 base.qcow2")]
    public void Target_that_is_being_read_is_refused_and_left_alone(string args)
    {
        MakeInputs(args);
        byte[] baseBefore = File.ReadAllBytes(PathOf("base.qcow2"));
        byte[] topBefore = File.ReadAllBytes(PathOf("top.qcow2"));
        string[] argv = ["convert", .. args.Split(' ')];
        RunResult expected = QemuImg(argv);
        RunResult actual = Qimg(argv);
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(File.ReadAllBytes(PathOf("base.qcow2")).AsSpan().SequenceEqual(baseBefore), Is.True, "base.qcow2 left alone");
        Assert.That(File.ReadAllBytes(PathOf("top.qcow2")).AsSpan().SequenceEqual(topBefore), Is.True, "top.qcow2 left alone");
    }

    [Test]
    public void Smaller_existing_target_is_refused()
    {
        MakeInputs("plain.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "raw", "out.q", "1M");
        Sh("qemu-img", "create", "-q", "-f", "raw", "out.m", "1M");
        RunBoth(["-n", "plain.qcow2"], out _, out _);
    }
}
