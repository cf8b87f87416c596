using NUnit.Framework;

namespace Qcow2.UnitTests.Mkimage;

/// <summary>Command-line handling: usage, unknown commands, argument counts, missing files.</summary>
[TestFixture]
public class CliTests : MkimageFixture
{
    [Test]
    public void Too_few_arguments_print_usage_on_stderr_and_fail()
    {
        var r = Mk("img");
        Assert.Multiple(() =>
        {
            Assert.That(r.ExitCode, Is.EqualTo(1));
            Assert.That(r.Out, Is.Empty);
            Assert.That(r.Err, Does.StartWith("Usage: mkimage <file> <cmd> [<arg>, ...]\n\nSupported commands:\n"));
            Assert.That(r.Err, Does.Contain("    dump-header          - Dump image header and header extensions\n"));
        });
    }

    [Test]
    public void Help_prints_usage_on_stdout()
    {
        var r = Mk("--help");
        Assert.That((r.ExitCode, r.Err), Is.EqualTo((0, "")));
        Assert.That(r.Out, Does.Contain("    set-feature-bit      - Set a feature bit\n"));
    }

    [Test]
    public void Unknown_command_is_an_error()
    {
        MkFails("mkimage: Unknown command 'frob' (try 'mkimage --help')", "img", "frob");
    }

    [Test]
    public void Wrong_argument_count_is_an_error()
    {
        MkFails("mkimage: set-header takes 2 arguments, not 1 (try 'mkimage --help')", "img", "set-header", "size");
        MkFails("mkimage: peek takes 1 argument, not 0 (try 'mkimage --help')", "img", "peek");
    }

    [Test]
    public void Missing_image_is_an_error()
    {
        MkFails("mkimage: Could not open 'nope.qcow2': No such file or directory", "nope.qcow2", "dump-header");
    }

    [Test]
    public void Dump_of_a_tiny_non_qcow2_file_does_not_crash()
    {
        File.WriteAllBytes(Path.Combine(Dir, "tiny"), [1, 2, 3]);
        var r = Mk("tiny", "dump-header");
        Assert.That(r.ExitCode, Is.Zero);
        Assert.That(r.Out, Does.StartWith("magic                     0x1020300\nversion                   0\n"));
    }

    [Test]
    [Platform(Exclude = "Win")]
    public void Read_only_commands_work_on_a_read_only_file()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("Unix file modes only");
            return;
        }
        string path = Path.Combine(Dir, "ro");
        File.WriteAllBytes(path, new byte[512]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead);
        Assert.That(Mk("ro", "peek-raw", "0", "4").Out, Is.EqualTo("0x00000000\n"));
    }
}
