using System.Xml.Linq;
using Qcow2.Harness;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Harness;

/// <summary>
/// tests/packaging/check.sh on an installation of stand-in tools (shell scripts that print what the real ones
/// print, one of them wrong): each check becomes a JUnit test case, the wrong one a failure with the tool's output,
/// and the closing line counts them.
/// </summary>
[TestFixture]
public sealed class PackagingCheckTests
{
    // What each stand-in prints; qimg check is wrong on purpose.
    private static readonly Dictionary<string, string> StandIns = new()
    {
        ["qimg"] = """
            case "$1" in
                --version) echo "qimg version 0.1.0" ;;
                create) echo "Formatting 't.qcow2', fmt=qcow2 size=67108864" ;;
                info) echo "virtual size: 64 MiB (67108864 bytes)" ;;
                check) echo "Leaked cluster 7 refcount=1 reference=0"; exit 3 ;;
            esac
            """,
        ["qio"] = "echo 'read 65536/65536 bytes at offset 0'",
        ["mkimage"] = "echo 'magic                     0x514649fb'",
        ["iotests"] = """[ "$1" = --list ] && echo 001 || echo '1 passed, 0 failed'""",
    };

    [Test]
    public void Every_check_is_a_junit_case_and_a_failing_one_carries_its_output()
    {
        string root = IotestsCommand.FindRoot(TestContext.CurrentContext.TestDirectory)
            ?? throw new AssertionException("cannot find the repository root");
        using var dir = new TempDir("packaging-check");
        string tools = dir.Sub("tools");
        foreach (var (name, body) in StandIns)
        {
            dir.Script(Path.Combine("tools", name), "#!/bin/sh\n" + body + "\n");
        }
        string report = dir.PathOf("reports/packaging.xml");

        var run = ToolProcess.Run("bash", dir.Path, Path.Combine(root, "tests/packaging/check.sh"), "--tools", tools, "--junit", report);

        int checks = ToolProcess.Available("qemu-img") ? 10 : 9;
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.Out, Does.Contain($"{checks - 1} passed, 1 failed, 0 skipped"), run.ToString());
        var suite = XDocument.Load(report).Root!.Element("testsuite")!;
        Assert.That(((int)suite.Attribute("tests")!, (int)suite.Attribute("failures")!), Is.EqualTo((checks, 1)));
        var failed = suite.Elements("testcase").Where(c => c.Element("failure") is not null).ToList();
        Assert.That(failed.Select(c => (string)c.Attribute("name")!), Is.EqualTo(new[] { $"{tools}: qimg check" }));
        Assert.That(failed[0].Element("failure")!.Value, Does.Contain("Leaked cluster 7 refcount=1 reference=0"));
    }

    [Test]
    public void A_bad_option_is_one_line_and_exit_2()
    {
        string root = IotestsCommand.FindRoot(TestContext.CurrentContext.TestDirectory)
            ?? throw new AssertionException("cannot find the repository root");
        var run = ToolProcess.Run("bash", root, Path.Combine(root, "tests/packaging/check.sh"), "--junit");
        Assert.That((run.ExitCode, run.Err), Is.EqualTo((2, "check.sh: option --junit needs a value\n")));
    }
}
