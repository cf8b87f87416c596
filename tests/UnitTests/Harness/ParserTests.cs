using NUnit.Framework;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>Header parsing and syntax errors that name the file and line.</summary>
[TestFixture]
public sealed class ParserTests : SandboxFixture
{

    [Test]
    public void Header_gives_description_groups_and_requirements()
    {
        var s = Box.Add("042-name", "# Does a thing\n# group: quick rw\n# requires: qcow2, snapshots\n#\n# more text\n\necho x\n");
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
    [TestCase("echo $(ls)\n", 3, "command substitution")]
    [TestCase("echo a & echo b\n", 3, "unsupported shell syntax")]
    [TestCase("for i in 1 2; do\n  echo $i\n", 4, "missing 'done'")]
    [TestCase("if true; then echo a; done\n", 3, "unexpected 'done'")]
    [TestCase("if true; echo a; fi\n", 3, "unexpected 'fi'")]
    [TestCase("while true; do echo; done; fi\n", 3, "unexpected 'fi'")]
    [TestCase("for 1x in a; do echo; done\n", 3, "'for' needs a variable name")]
    [TestCase("f() echo x\n", 3, "a function body must be a '{ ...; }' group")]
    [TestCase("( echo x )\n", 3, "subshells")]
    [TestCase("echo a |\n", 3, "missing command")]
    [TestCase("{ echo a; } <<EOF\nx\nEOF\n", 3, "a here-document or '<' can only feed a simple command")]
    [TestCase("for i in 1; do echo; done < f\n", 3, "a here-document or '<' can only feed a simple command")]
    [TestCase("f() { g; }\n", 3, "unknown command 'g'")]
    [TestCase(". ./no-such-file\n", 3, ".: ./no-such-file: No such file or directory")]
    [TestCase("for i in 1; do echo | cat; done\n", 3, "'cat' is not a filter")]
    [TestCase("\necho ok \\\n  more\nqio x | _filter_nothing\n", 6, "'_filter_nothing' is not a filter")]
    public void Syntax_errors_name_file_and_line(string body, int line, string message)
    {
        var s = Box.Add("007", "# desc\n\n" + body);
        Assert.That(s.ParseError, Does.Match($"tests/iotests/007:{line}: ").And.Contain(message));
    }

    [Test]
    public void Missing_description_is_an_error() =>
        Assert.That(Box.Add("008", "echo x\n").ParseError, Does.Contain("008:1: the first comment line must be a one-line description"));

    [Test]
    public void A_parse_error_fails_the_scenario_and_shows_the_message()
    {
        var r = Box.Run(Box.Add("009", "# desc\necho 'x\n", "x\n"));
        Assert.That(r.Outcome, Is.EqualTo(Outcome.Fail));
        Assert.That(r.Diff, Does.Contain("009:2: unterminated single quote"));
    }

    [Test]
    public void Compound_commands_nest_and_keep_their_lines()
    {
        var s = Box.Add("010", "# desc\nfor i in 1 2; do\n  if [ $i = 1 ]; then\n    f() { echo in; }\n  fi\ndone\nf\n");
        Assert.That(s.ParseError, Is.Null);
        var loop = (ForLoop)s.Body[0];
        var branch = (IfChain)loop.Body.Statements[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That((loop.Line, loop.Name, loop.Items!.Count), Is.EqualTo((2, "i", 2)));
            Assert.That(branch.Line, Is.EqualTo(3));
            Assert.That(((FunctionDef)branch.Branches[0].Then.Statements[0]).Line, Is.EqualTo(4));
            Assert.That(((Pipeline)s.Body[1]).Line, Is.EqualTo(7));
        }
    }

    [Test]
    public void Tools_used_inside_loops_and_functions_are_found() =>
        Assert.That(Box.Add("011", "# desc\nf() { qio x; }\nfor i in 1; do _make_test_img 1M; done\n").ToolsUsed(), Is.EqualTo(new[] { "qimg", "qio" }));
}
