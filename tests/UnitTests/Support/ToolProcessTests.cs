using System.Text.RegularExpressions;
using CliWrap.Buffered;

namespace Qcow2.UnitTests.Support;

/// <summary>How the tests start external programs (ToolProcess): each on one CPU, without moving the test's own thread.</summary>
[TestFixture]
public partial class ToolProcessTests
{
    [Test]
    public void Programs_run_on_one_cpu_and_the_starting_thread_keeps_its_cpus()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("OneCpu pins only on Linux (sched_setaffinity); elsewhere a start is left as it is");
        }
        string before = CpusOf("/proc/thread-self/status");
        using var dir = new TempDir("one-cpu");
        var lists = Enumerable.Range(0, 2)
            .Select(_ => ToolProcess.Must("sh", dir.Path, "-c", "grep Cpus_allowed_list /proc/self/status").Out)
            .Select(o => CpusLine().Match(o).Groups[1].Value)
            .ToList();

        Assert.That(lists, Has.All.Matches("^[0-9]+$"), "each program's CPU set is one CPU");
        Assert.That(CpusOf("/proc/thread-self/status"), Is.EqualTo(before), "the starting thread has its own CPU set back");
    }

    [Test]
    [NonParallelizable]
    public void Programs_that_run_at_the_same_time_get_different_cpus()
    {
        if (!OneCpu.Pins)
        {
            Assert.Ignore("OneCpu pins only on Linux (sched_setaffinity) and with two CPUs or more allowed to this process");
        }
        // Alone (NonParallelizable), so that no other test holds a CPU.
        using var a = OneCpu.Take();
        string first = CpuOf(a);
        string second;
        using (var b = OneCpu.Take())
        {
            second = CpuOf(b);
        }
        using var c = OneCpu.Take();
        string third = CpuOf(c);

        Assert.That(first, Does.Match("^[0-9]+$"));
        Assert.That(second, Is.Not.EqualTo(first), "a program started while another runs goes to another CPU");
        Assert.That(third, Is.EqualTo(second), "a CPU given back is the one with the fewest programs again");
    }

    /// <summary>The CPU set of a program started on the lease's CPU (not through ToolProcess, which takes its own).</summary>
    private static string CpuOf(OneCpu.Lease lease)
    {
        var run = lease.Start(() => CliWrap.Cli.Wrap("sh").WithArguments(["-c", "grep Cpus_allowed_list /proc/self/status"])
            .ExecuteBufferedAsync()).Task.GetAwaiter().GetResult();
        return CpusLine().Match(run.StandardOutput).Groups[1].Value;
    }

    private static string CpusOf(string status) => CpusLine().Match(File.ReadAllText(status)).Groups[1].Value;

    [GeneratedRegex(@"Cpus_allowed_list:\s*(\S+)")]
    private static partial Regex CpusLine();
}

/// <summary>
/// The replayed qemu-img create (QemuCreateOnce): only a create that depends on nothing but its arguments is replayed,
/// and a replay gives what QEMU itself gives, output, bytes and layout on the disk.
/// </summary>
[TestFixture]
public class QemuCreateOnceTests
{
    [TestCase("create -q -f qcow2 a.qcow2 64M", true)]
    [TestCase("create -f qcow2 -o cluster_size=512,refcount_bits=1 a.qcow2 1G", true)]
    [TestCase("create a.raw 1M", true)]
    [TestCase("create -q -f qcow2 -b base.qcow2 -F qcow2 a.qcow2 64M", false)]
    [TestCase("create -q -f qcow2 -o backing_file=base.qcow2 a.qcow2 64M", false)]
    [TestCase("create -q -f qcow2 -o data_file=d.raw a.qcow2 64M", false)]
    [TestCase("create -q -f qcow2 -o preallocation=metadata a.qcow2 64M", false)]
    [TestCase("create -q -f luks a.luks 64M", false)]
    [TestCase("create -q -f vmdk a.vmdk 64M", false)]
    [TestCase("create -q -f qcow2 sub/a.qcow2 64M", false)]
    [TestCase("create -q -f qcow2 a.qcow2", false)]
    [TestCase("create -q -f qcow2 a.qcow2 -- 64M", false)]
    [TestCase("create -q -f qcow2 exists.qcow2 64M", false)]
    [TestCase("info a.qcow2", false)]
    public void Only_a_create_from_its_arguments_alone_is_replayed(string command, bool replayed)
    {
        using var dir = new TempDir("create-once-applies");
        File.WriteAllText(dir.PathOf("exists.qcow2"), "");
        Assert.That(QemuCreateOnce.Applies("qemu-img", dir.Path, command.Split(' '), ""), Is.EqualTo(replayed));
        Assert.That(QemuCreateOnce.Applies("qemu-io", dir.Path, command.Split(' '), ""), Is.False);
    }

    [TestCase("-q", "-f", "qcow2", "t.qcow2", "64M")]
    [TestCase("-f", "qcow2", "-o", "cluster_size=2M,compat=0.10", "t.qcow2", "5G")]
    [TestCase("-f", "raw", "t.raw", "3M")]
    public void A_replayed_create_gives_what_qemu_img_gives(params string[] options)
    {
        ToolProcess.Require("qemu-img");
        string[] args = ["create", .. options];
        string name = options[^2];
        using var a = new TempDir("create-once-a");
        using var b = new TempDir("create-once-b");
        using var real = new TempDir("create-once-real");
        var first = ToolProcess.Run("qemu-img", a.Path, args);
        var second = ToolProcess.Run("qemu-img", b.Path, args);
        // Through sh, so that QEMU itself makes this one.
        var direct = ToolProcess.Run("sh", real.Path, ["-c", "exec qemu-img \"$@\"", "sh", .. args]);

        Assert.That(QemuCreateOnce.Applies("qemu-img", real.Path, args, ""), Is.False, "the name exists now");
        Assert.That(second, Is.EqualTo(direct));
        Assert.That(first, Is.EqualTo(direct));
        Assert.That(Directory.GetFileSystemEntries(b.Path).Select(Path.GetFileName), Is.EqualTo(new[] { name }));
        Assert.That(FileBytes.FirstDifference(real.PathOf(name), b.PathOf(name)), Is.EqualTo(-1));
        Assert.That(DiskLayout.Of(b.PathOf(name)), Is.EqualTo(DiskLayout.Of(real.PathOf(name))));
    }
}
