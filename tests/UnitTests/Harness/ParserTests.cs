using NUnit.Framework;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>Header parsing and syntax errors that name the file and line.</summary>
[TestFixture]
public sealed class ParserTests
{
    private HarnessSandbox _box = null!;

    [SetUp]
    public void SetUp() => _box = new HarnessSandbox();

    [TearDown]
    public void TearDown() => _box.Dispose();

    [Test]
    public void Header_gives_description_groups_and_requirements()
    {
        var s = _box.Add("042-name", "# Does a thing\n# group: quick rw\n# requires: qcow2, snapshots\n#\n# more text\n\necho x\n");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(s.Description, Is.EqualTo("Does a thing"));
            Assert.That(s.Number, Is.EqualTo("042"));
            Assert.That(s.Groups, Is.EqualTo(new[] { "quick", "rw" }));
            Assert.That(s.Requires, Is.EqualTo(new[] { "qcow2", "snapshots" }));
            Assert.That(s.ParseError, Is.Null);
        }
    }

    [TestCase("echo 'unterminated\n", 3, "unterminated single quote")]
    [TestCase("echo \"unterminated\n", 3, "unterminated double quote")]
    [TestCase("frobnicate now\n", 3, "unknown command 'frobnicate'")]
    [TestCase("echo a | cat\n", 3, "'cat' is not a filter")]
    [TestCase("qio x <<EOF\nwrite 0 1\n", 3, "here-document delimited by 'EOF' is not terminated")]
    [TestCase("echo a > out.txt\n", 3, "only /dev/null is supported")]
    [TestCase("echo $(ls)\n", 3, "command substitution")]
    [TestCase("echo a && echo b\n", 3, "unsupported shell syntax")]
    [TestCase("\necho ok \\\n  more\nqio x | _filter_nothing\n", 6, "'_filter_nothing' is not a filter")]
    public void Syntax_errors_name_file_and_line(string body, int line, string message)
    {
        var s = _box.Add("007", "# desc\n\n" + body);
        Assert.That(s.ParseError, Does.Match($"tests/iotests/007:{line}: ").And.Contain(message));
    }

    [Test]
    public void Missing_description_is_an_error() =>
        Assert.That(_box.Add("008", "echo x\n").ParseError, Does.Contain("008:1: the first comment line must be a one-line description"));

    [Test]
    public void A_parse_error_fails_the_scenario_and_shows_the_message()
    {
        var r = _box.Run(_box.Add("009", "# desc\necho 'x\n", "x\n"));
        Assert.That(r.Outcome, Is.EqualTo(Outcome.Fail));
        Assert.That(r.Diff, Does.Contain("009:2: unterminated single quote"));
    }
}
