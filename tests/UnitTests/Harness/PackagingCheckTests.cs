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

    /// <summary>
    /// The native half on a copy of check.sh whose publish.sh is a stand-in that takes 2 s: the publish runs in the
    /// background from the start, and its check records the publish's own time (not the moment the check waited for
    /// it); a published folder is checked like an installation, a failed publish is a failed check with its output.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void The_background_publish_is_one_check_with_its_own_time_and_output(bool succeeds)
    {
        string root = IotestsCommand.FindRoot(TestContext.CurrentContext.TestDirectory)
            ?? throw new AssertionException("cannot find the repository root");
        using var dir = new TempDir("packaging-publish");
        Directory.CreateDirectory(dir.PathOf("tests/packaging"));
        dir.Sub("tools");
        File.Copy(Path.Combine(root, "tests/packaging/check.sh"), dir.PathOf("tests/packaging/check.sh"));
        File.Copy(Path.Combine(root, "tools/dotnet-build.sh"), dir.PathOf("tools/dotnet-build.sh"));
        dir.Sub("standins");
        foreach (var (name, body) in StandIns)
        {
            dir.Script(Path.Combine("standins", name), "#!/bin/sh\n" + body + "\n");
        }
        dir.Script("publish.sh", succeeds
            ? """
              #!/bin/sh
              sleep 2
              out="$(cd "$(dirname "$0")" && pwd)/dist/stand-in"
              mkdir -p "$out" && cp "$(dirname "$0")"/standins/* "$out/"
              echo "published qimg qio mkimage iotests to $out in 2 s"
              """
            : """
              #!/bin/sh
              sleep 2
              echo "ILC: error IL3050: a stand-in failure" >&2
              exit 1
              """);
        string report = dir.PathOf("packaging.xml");

        var run = ToolProcess.Run("bash", dir.Path, dir.PathOf("tests/packaging/check.sh"), "--no-tool", "--junit", report);

        var suite = XDocument.Load(report).Root!.Element("testsuite")!;
        var publish = suite.Elements("testcase").Single(c => (string)c.Attribute("name")! == "publish.sh (Native AOT, four tools)");
        Assert.That((int)publish.Attribute("time")!, Is.GreaterThanOrEqualTo(2), run.ToString());
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        if (succeeds)
        {
            // The published folder's checks, the stand-in qimg check failing as above.
            int checks = ToolProcess.Available("qemu-img") ? 10 : 9;
            Assert.That(publish.Element("failure"), Is.Null, run.ToString());
            Assert.That(run.Out, Does.Contain($"{checks} passed, 1 failed, 0 skipped"), run.ToString());
            Assert.That(run.Out, Does.Contain("  FAIL  native: qimg check"), run.ToString());
        }
        else
        {
            Assert.That(publish.Element("failure")?.Value, Does.Contain("ILC: error IL3050: a stand-in failure"), run.ToString());
            Assert.That(run.Out, Does.Contain("  FAIL  publish.sh (Native AOT, four tools)"), run.ToString());
            Assert.That(run.Out, Does.Contain("0 passed, 1 failed, 0 skipped"), run.ToString());
        }
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
