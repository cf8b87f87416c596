using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qimg's global options and command dispatch.</summary>
[TestFixture]
public class GlobalTests : QimgFixture
{
    [TestCase(new string[0], "qimg: Not enough arguments\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "foo" }, "qimg: Command not found: foo\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "help" }, "qimg: Command not found: help\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "-x" }, "qimg: unrecognized option '-x'\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "info" }, "qimg: Expecting one image file name\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "map", "a", "b" }, "qimg: Expecting one image file name\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "info", "--output" }, "qimg: missing argument for option '--output'\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "info", "--o=json", "a" }, "qimg: unrecognized option '--o=json'\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "info", "--image-opts=x", "a" }, "qimg: unrecognized option '--image-opts=x'\nTry 'qimg --help' for more information\n")]
    public void Usage_errors(string[] args, string err)
    {
        RunResult r = Qimg(args);
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Err, Is.EqualTo(err));
        Assert.That(r.Out, Is.Empty);
    }

    [TestCase("--help")]
    [TestCase("-h")]
    public void Help_lists_the_commands_and_exits_0(string flag)
    {
        RunResult r = Qimg(flag);
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(r.Out, Does.Contain("usage: qimg [standard options] command [command options]\n"));
        Assert.That(r.Out, Does.Contain("\n  create [--object objectdef] [-q] [-f fmt]"));
        Assert.That(r.Out, Does.Contain("\n  info "));
        Assert.That(r.Out, Does.Contain("\n  map "));
    }

    [Test]
    public void Help_parameters_are_qemu_imgs()
    {
        static string Parameters(string help) =>
            help[help.IndexOf("Command parameters:", StringComparison.Ordinal)..help.IndexOf("Supported formats:", StringComparison.Ordinal)];
        string expected = Parameters(Qemu("qemu-img", "--help").Out); // unmapped: the text names qemu-img itself
        Assert.That(Parameters(Qimg("--help").Out), Is.EqualTo(expected));
    }

    [Test]
    public void Help_lists_every_command_with_qemu_imgs_syntax_line()
    {
        string[] qemu = QemuImg("--help").Out.Split('\n');
        foreach (string line in Qimg("--help").Out.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal) && !l.StartsWith("   ", StringComparison.Ordinal)))
        {
            if (line.Contains('\'', StringComparison.Ordinal))
            {
                continue; // a parameter line, compared above
            }
            string name = line.Trim().Split(' ')[0];
            string theirs = qemu.First(l => l.StartsWith("  " + name + " ", StringComparison.Ordinal));
            Assert.That(line, Is.EqualTo(theirs).Or.EqualTo(theirs.Replace(" [--object objectdef]", "", StringComparison.Ordinal)), name);
        }
    }

    [Test]
    public void Command_help_is_the_global_help()
    {
        Assert.That(Qimg("info", "--help").Out, Is.EqualTo(Qimg("--help").Out));
    }

    [Test]
    public void Version_exits_0()
    {
        RunResult r = Qimg("-V");
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(r.Out, Does.StartWith("qimg version 7.2"));
    }

    [Test]
    public void Options_may_follow_operands()
    {
        RunResult r = Qimg("create", "a.raw", "-f", "raw", "1M");
        Assert.That(r.Out, Is.EqualTo("Formatting 'a.raw', fmt=raw size=1048576\n"));
    }

    [Test]
    public void Output_must_be_human_or_json()
    {
        Qimg("create", "-q", "a.raw", "1M");
        RunResult r = Qimg("info", "--output=xml", "a.raw");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Err, Is.EqualTo("qimg: --output must be used with human or json as argument.\n"));
    }
}
