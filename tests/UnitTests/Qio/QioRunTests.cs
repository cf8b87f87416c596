using NUnit.Framework;

namespace Qcow2.UnitTests.Qio;

/// <summary>End-to-end qio runs on raw images; expected texts are what qemu-io 7.2 printed for the same commands.</summary>
[TestFixture]
public class QioRunTests : QioFixture
{
    [Test]
    public void Write_then_read_back_with_pattern_and_dump()
    {
        var r = Qio("-f", "raw", "-c", "write -P 0x41 0 512", "-c", "read -P 0x41 -v 0 33", "r.img");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(FilterTiming(r.Out), Is.EqualTo(
            "wrote 512/512 bytes at offset 0\nTIMING\n" +
            "00000000:  41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41  AAAAAAAAAAAAAAAA\n" +
            "00000010:  41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41  AAAAAAAAAAAAAAAA\n" +
            "00000020:  41  A\n" +
            "read 33/33 bytes at offset 0\nTIMING\n"));
        Assert.That(r.Err, Is.Empty);
        Assert.That(File.ReadAllBytes(PathOf("r.img")).AsSpan(0, 513).ToArray(), Is.EqualTo(Enumerable.Repeat((byte)0x41, 512).Append((byte)0).ToArray()));
    }

    [Test]
    public void Failed_pattern_check_and_failed_read_make_the_exit_status_1()
    {
        var r = Qio("-f", "raw", "-c", "read -P 1 0 512", "-c", "read 0 2M", "-c", "read -q 0 512", "r.img");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(FilterTiming(r.Out), Is.EqualTo(
            "Pattern verification failed at offset 0, 512 bytes\nread 512/512 bytes at offset 0\nTIMING\n" +
            "read failed: Input/output error\n"));
    }

    [Test]
    public void Write_option_errors()
    {
        var r = Qio("-f", "raw", "-c", "write -z -P 1 0 512", "-c", "write -u 0 512", "-c", "write -f -c 0 512",
            "-c", "write -c 1 512", "-c", "write -c 0 511", "-c", "write -c 0 512", "-c", "write 0 3G", "-c", "write -P 256 0 1", "r.img");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Out, Is.EqualTo(
            "Only one of -z, -P, and -s can be specified at the same time\n" +
            "-u requires -z to be specified\n" +
            "-f and -b or -c cannot be specified at the same time\n" +
            "1 is not a sector-aligned value for 'offset'\n" +
            "511 is not a sector-aligned value for 'count'\n" +
            "write failed: Operation not supported\n" +
            "length cannot exceed 2147483136 without -n, given 3G\n" +
            "256 is not a valid pattern byte\n"));
    }

    [Test]
    public void Command_errors_go_to_stderr_with_usage_on_stdout()
    {
        var r = Qio("-f", "raw", "-c", "nosuch", "-c", "read 0", "-c", "read -x 0 1", "-c", "close x", "r.img");
        AssertFailed(r,
            "command \"nosuch\" not found\n" +
            "bad argument count 1 to read, expected at least 2 arguments\n" +
            "read: invalid option -- 'x'\n" +
            "bad argument count 1 to close, expected 0 arguments\n",
            "read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset\n");
    }

    [Test]
    public void Status_commands_on_raw()
    {
        var r = Qio("-f", "raw", "-c", "length", "-c", "info", "-c", "map", "-c", "alloc 0", "-c", "alloc 1 1", "-c", "alloc 1020k 8k", "-c", "alloc 2M", "r.img");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo(
            "1 MiB\n" +
            "format name: raw\ncluster size: 0 bytes\nvm state offset: 0 bytes\n" +
            "1 MiB (0x100000) bytes     allocated at offset 0 bytes (0x0)\n" +
            "512/512 bytes allocated at offset 0 bytes\n" +
            "1/1 bytes allocated at offset 1 bytes\n" +
            "4096/4096 bytes allocated at offset 1020 KiB\n" +
            "0/0 bytes allocated at offset 2 MiB\n"));
    }

    [Test]
    public void Truncate_and_discard()
    {
        var r = Qio("-f", "raw", "-c", "truncate 2M", "-c", "length", "-c", "discard 1M 4k", "-c", "truncate -m bogus 1M", "r.img");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(FilterTiming(r.Out), Is.EqualTo("2 MiB\ndiscard 4096/4096 bytes at offset 1048576\nTIMING\n"));
        Assert.That(r.Err, Is.EqualTo("qio: Invalid preallocation mode 'bogus'\n"));
        Assert.That(new FileInfo(PathOf("r.img")).Length, Is.EqualTo(2 << 20));
    }

    [Test]
    public void Aio_reports_arrive_at_aio_flush()
    {
        var r = Qio("-f", "raw", "-c", "aio_write -P 7 0 512 512", "-c", "length", "-c", "aio_flush", "-c", "aio_read -P 7 0 1k", "-c", "aio_read 0 2M", "-c", "aio_flush", "r.img");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(FilterTiming(r.Out), Is.EqualTo(
            "1 MiB\nwrote 1024/1024 bytes at offset 0\nTIMING\n" +
            "read 1024/1024 bytes at offset 0\nTIMING\nreadv failed: Input/output error\n"));
    }

    [Test]
    public void Read_only_image_refuses_write_commands()
    {
        var r = Qio("-r", "-f", "raw", "-c", "write 0 512", "-c", "discard 0 512", "-c", "read -q 0 512", "r.img");
        AssertFailed(r, "qio: Block node is read-only\nqio: Block node is read-only\n", "");
    }

    [Test]
    public void Open_failures_and_no_file_open()
    {
        var r = Qio("-c", "open -o driver=raw nonexist", "-c", "read 0 1", "-c", "open -o driver=raw", "-c", "open -o foo=bar",
            "-c", "open -o driver=raw,file.filename=r.img", "-c", "open r.img", "-c", "length");
        AssertFailed(r,
            "qio: can't open device nonexist: Could not open 'nonexist': No such file or directory\n" +
            "no file open, try 'help open'\n" +
            "qio: can't open: A block device must be specified for \"file\"\n" +
            "qio: can't open: Must specify either driver or file\n" +
            "qio: file open already, try 'help close'\n",
            "1 MiB\n");
    }

    [Test]
    public void Missing_image_on_the_command_line_ends_the_run()
    {
        var r = Qio("-f", "raw", "-c", "read 0 1", "nonexist.img");
        AssertFailed(r, "qio: can't open device nonexist.img: Could not open 'nonexist.img': No such file or directory\n", "");
    }

    [Test]
    public void Image_opts_name_the_file_in_options()
    {
        var r = Qio("--image-opts", "-c", "length", "driver=raw,file.filename=r.img");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo("1 MiB\n"));
        var bad = Qio("--image-opts", "-f", "raw", "r.img");
        Assert.That(bad.ExitCode, Is.EqualTo(1));
        Assert.That(bad.Err, Is.EqualTo("qio: --image-opts and -f are mutually exclusive\n"));
    }

    [Test]
    public void Standard_input_gets_a_prompt_per_line_and_one_at_eof()
    {
        var r = QioWithInput("read -q 0 512\nnosuch\n\nread -P 1 -q 0 512\n", "-f", "raw", "r.img");
        AssertFailed(r, "command \"nosuch\" not found\n", "qio> qio> qio> qio> Pattern verification failed at offset 0, 512 bytes\nqio> ");
        var q = QioWithInput("quit\nread 0 512\n", "-f", "raw", "r.img");
        Assert.That(q.ExitCode, Is.EqualTo(0));
        Assert.That(q.Out, Is.EqualTo("qio> "));
    }

    [Test]
    public void Help_lists_every_command_and_explains_one()
    {
        var r = Qio("-c", "help", "-c", "help w", "-c", "help nosuch");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Out, Does.StartWith("abort -- simulate a program crash using abort(3)\naio_flush -- completes all outstanding aio requests\n"));
        Assert.That(r.Out, Does.Contain("map  -- prints the allocated areas of a file\n"));
        Assert.That(r.Out, Does.Contain("\nUse 'help commandname' for extended help.\n" +
            "w [-bcCfnquz] [-P pattern | -s source_file] off len -- writes a number of bytes at a specified offset\n\n writes a range of bytes from the given offset\n"));
        Assert.That(r.Out, Does.EndWith(" -z, -- write zeroes using blk_co_pwrite_zeroes\n\ncommand nosuch not found\n"));
    }

    [Test]
    public void Breakpoints_need_blkdebug()
    {
        var r = Qio("-f", "raw", "-c", "break cow_read 0", "-c", "resume 0", "-c", "remove_break 0", "r.img");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Out, Is.EqualTo(
            "Could not set breakpoint: Operation not supported\n" +
            "Could not resume request: Operation not supported\n" +
            "Could not remove breakpoint 0: Operation not supported\n"));
    }

    /// <summary>The run ended with exit status 1 and printed exactly these texts on stderr and stdout.</summary>
    private static void AssertFailed(ToolRun r, string err, string @out)
    {
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Err, Is.EqualTo(err));
        Assert.That(r.Out, Is.EqualTo(@out));
    }
}
