using NUnit.Framework;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>Golden comparison, blessing, selection, capabilities and reporting.</summary>
[TestFixture]
public sealed class RunnerTests : SandboxFixture
{
    /// <summary>A fake target that also claims snapshots, so capability selection has something to choose by.</summary>
    public RunnerTests()
        : base(capabilities: "qcow2 snapshots")
    {
    }

    private const string Script = "# desc\n# group: quick\necho hello\necho \"*** done\"\n";

    [Test]
    public void Matching_output_passes_ignoring_CRLF_and_trailing_blanks()
    {
        var r = Box.Run(Box.Add("001", Script, "QA output created by 001\r\nhello   \r\n*** done\r\n\r\n"));
        Assert.That(r.Outcome, Is.EqualTo(Outcome.Pass));
    }

    [Test]
    public void Wrong_output_fails_with_a_unified_diff_and_an_out_bad_file()
    {
        var r = Box.Run(Box.Add("001", Script, "QA output created by 001\ngoodbye\n*** done\n"));
        var bad = Path.Combine(Box.Root, "tests", "scratch", "fake", "001.out.bad");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(r.Outcome, Is.EqualTo(Outcome.Fail));
            Assert.That(r.Diff, Does.Contain("-goodbye\n+hello\n").And.Contain("@@ "));
            Assert.That(File.ReadAllText(bad), Is.EqualTo("QA output created by 001\nhello\n*** done\n"));
        }

        File.WriteAllText(Path.Combine(Box.Root, "tests", "golden", "001.out"), "QA output created by 001\nhello\n*** done\n");
        Assert.That((Box.Run(Box.Add("001", Script)).Outcome, File.Exists(bad)), Is.EqualTo((Outcome.Pass, false)));
    }

    [Test]
    public void Missing_golden_is_not_run() =>
        Assert.That(Box.Run(Box.Add("001", Script)) is { Outcome: Outcome.NotRun } r && r.Reason.StartsWith("no golden", StringComparison.Ordinal));

    [Test]
    public void Bless_rewrites_the_golden_and_shows_the_diff()
    {
        var r = Box.Run(Box.Add("001", Script, "QA output created by 001\nold\n"), bless: true);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((r.Outcome, r.Blessed), Is.EqualTo((Outcome.Pass, true)));
            Assert.That(r.Diff, Does.Contain("-old"));
            Assert.That(File.ReadAllText(Path.Combine(Box.Root, "tests", "golden", "001.out")), Is.EqualTo("QA output created by 001\nhello\n*** done\n"));
        }
    }

    [Test]
    public void Bless_creates_a_missing_golden()
    {
        Box.Run(Box.Add("002", Script), bless: true);
        Assert.That(File.Exists(Path.Combine(Box.Root, "tests", "golden", "002.out")));
    }

    [Test]
    public void A_requirement_the_target_lacks_is_not_run_with_the_reason()
    {
        var r = Box.Run(Box.Add("003", "# desc\n# requires: qcow2 blkdebug events\necho x\n", "x\n"));
        Assert.That((r.Outcome, r.Reason), Is.EqualTo((Outcome.NotRun, "target fake lacks blkdebug, events (not in its 'capabilities:' line)")));
    }

    [Test]
    public void Requirements_the_target_has_run() =>
        Assert.That(Box.Run(Box.Add("004", "# desc\n# requires: qcow2 snapshots\necho x\n", "QA output created by 004\nx\n")).Outcome, Is.EqualTo(Outcome.Pass));

    [Test]
    public void A_tool_missing_from_PATH_is_not_run()
    {
        var target = Box.AddTarget("nopath", "capabilities: qcow2\ntool qio: no-such-tool-xyz\n");
        var s = Box.Add("005", "# desc\nqio -c 'read 0 1' x\n", "x\n");
        Assert.That(target.WhyNotRun(s), Is.EqualTo("no-such-tool-xyz not found on PATH"));
    }

    [Test]
    public void Target_file_errors_name_the_line() =>
        Assert.That(() => Target.Parse("capabilities: x\nfrob: y\n", "t", Box.Root, HarnessSandbox.EntryPoints, TimeSpan.FromSeconds(1)),
            Throws.TypeOf<FormatException>().With.Message.StartsWith("t.target:2: unknown key 'frob'"));

    [Test]
    public void Selection_by_number_name_group_and_exclusion()
    {
        Box.Add("001-alpha", "# a\n# group: quick rw\n");
        Box.Add("002-beta", "# b\n# group: rw slow\n");
        Box.Add("003", "# c\n# group: quick disabled\n");
        var all = Runner.Discover(Box.Root);
        static string Stems(List<Scenario> l) => string.Join(' ', l.Select(s => s.Stem));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Stems(Runner.Select(all, [], [], [])), Is.EqualTo("001-alpha 002-beta"));
            Assert.That(Stems(Runner.Select(all, ["2", "alpha"], [], [])), Is.EqualTo("001-alpha 002-beta"));
            Assert.That(Stems(Runner.Select(all, [], ["quick"], [])), Is.EqualTo("001-alpha"));
            Assert.That(Stems(Runner.Select(all, [], ["rw"], ["slow"])), Is.EqualTo("001-alpha"));
            Assert.That(Stems(Runner.Select(all, ["003"], [], [])), Is.EqualTo("003"));
            Assert.That(() => Runner.Select(all, ["zeta"], [], []), Throws.ArgumentException);
        }
    }

    [Test]
    public void Summary_ends_with_the_counts_line()
    {
        var pass = Box.Run(Box.Add("001", Script, "QA output created by 001\nhello\n*** done\n"));
        var fail = Box.Run(Box.Add("002", Script, "nope\n"));
        var skip = Box.Run(Box.Add("003", Script));
        Assert.That(Report.Summary([pass, fail, skip]), Is.EqualTo(new[]
        {
            "Not run: 003", "Failures: 002", "Failed 1 of 2 iotests", "1 passed, 1 failed, 1 skipped",
        }));
        Assert.That(Report.Summary([pass]), Is.EqualTo(new[] { "Passed all 1 iotests", "1 passed, 0 failed, 0 skipped" }));
    }

    [Test]
    public void JUnit_report_has_one_testcase_per_scenario()
    {
        var pass = Box.Run(Box.Add("001", Script, "QA output created by 001\nhello\n*** done\n"));
        var fail = Box.Run(Box.Add("002", Script, "nope\n"));
        var path = Path.Combine(Box.Root, "junit.xml");
        Report.WriteJUnit(path, "fake", [pass, fail]);
        var xml = File.ReadAllText(path);
        Assert.That(xml, Does.Contain("name=\"001\"").And.Contain("<failure").And.Contain("failures=\"1\""));
    }

    [Test]
    public void Command_line_prints_result_lines_and_exits_non_zero_on_failure()
    {
        Box.Add("001", Script, "QA output created by 001\nhello\n*** done\n");
        Box.Add("002", Script, "nope\n");
        File.WriteAllText(Path.Combine(Box.Root, "tests", "targets", "echo.target"), "capabilities: qcow2\n");
        var console = new StringWriter();
        var code = IotestsCommand.Execute(["--root", Box.Root, "--target", "echo", "-j", "2"], console);
        var text = console.ToString();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(text, Does.Match(@"\n001  pass    \[\d+\.\ds\]\n"));
            Assert.That(text, Does.Contain("\n002  fail    ").And.EndWith("Failures: 002\nFailed 1 of 2 iotests\n1 passed, 1 failed, 0 skipped\n"));
        }
    }
}
