using System.Text.RegularExpressions;

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

    private static string CpusOf(string status) => CpusLine().Match(File.ReadAllText(status)).Groups[1].Value;

    [GeneratedRegex(@"Cpus_allowed_list:\s*(\S+)")]
    private static partial Regex CpusLine();
}
