using NUnit.Framework;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>The scenario language and the stream model, run with a scripted fake tool.</summary>
[TestFixture]
public sealed class InterpreterTests
{
    private HarnessSandbox _box = null!;

    [SetUp]
    public void SetUp() => _box = new HarnessSandbox();

    [TearDown]
    public void TearDown() => _box.Dispose();

    private string Body(string body) => _box.Output(body)["QA output created by 999\n".Length..];

    [Test]
    public void Output_starts_with_the_QA_line() =>
        Assert.That(_box.Output("echo hi\n"), Is.EqualTo("QA output created by 999\nhi\n"));

    [Test]
    public void Stderr_comes_before_unflushed_stdout_like_a_real_process() =>
        Assert.That(Body("qio o:report e:error\n"), Is.EqualTo("error\nreport\n"));

    [Test]
    public void A_flush_puts_stdout_before_a_later_stderr_write() =>
        Assert.That(Body("qio o:report f e:error\n"), Is.EqualTo("report\nerror\n"));

    [Test]
    public void Piped_stdout_is_filtered_and_stderr_bypasses_the_filter() =>
        Assert.That(Body("qio o:a f e:b o:keep | grep -v a\n"), Is.EqualTo("b\nkeep\n"));

    [Test]
    public void With_2_to_1_both_streams_pass_the_filter_in_flush_order() =>
        Assert.That(Body("qio o:a f e:b o:c 2>&1 | grep -v b\n"), Is.EqualTo("a\nc\n"));

    [Test]
    public void Redirections_to_dev_null_drop_a_stream()
    {
        Assert.That(Body("qio o:a e:b >/dev/null\n"), Is.EqualTo("b\n"));
        Assert.That(Body("qio o:a e:b 2>/dev/null\n"), Is.EqualTo("a\n"));
    }

    [Test]
    public void Program_name_is_normalized_only_at_line_starts() =>
        Assert.That(Body("qio 'e:fake: cannot open' 'e:x fake: y'\n"), Is.EqualTo("qemu-io: cannot open\nx fake: y\n"));

    [Test]
    public void Exit_status_and_pipestatus()
    {
        Assert.That(Body("qio x:3\necho $?\n"), Is.EqualTo("3\n"));
        Assert.That(Body("qio x:3 | grep nothing\necho $? ${PIPESTATUS[0]} ${PIPESTATUS[1]}\n"), Is.EqualTo("1 3 1\n"));
    }

    [Test]
    public void Variables_quotes_and_arithmetic_expand_like_the_shell() =>
        Assert.That(
            Body("a=0x10000\nb=\"two words\"\necho $((a + 0x30000)) $((1 << 16 | 1)) $((a / 2 - 1)) \"$b\" '$b' \\$b ${a}x\n"),
            Is.EqualTo("262144 65537 32767 two words $b $b 0x10000x\n"));

    [Test]
    public void Presets_are_set() =>
        Assert.That(Body("echo $IMGFMT $IMGPROTO $IMGOPTS\necho $TEST_IMG | _filter_testdir\n"),
            Is.EqualTo("qcow2 file compat=1.1\nTEST_DIR/t.qcow2\n"));

    [Test]
    public void Line_continuation_joins_arguments() =>
        Assert.That(Body("qio o:a \\\n    o:b\n"), Is.EqualTo("a\nb\n"));

    [Test]
    public void Heredoc_is_stdin_and_expanded_unless_quoted()
    {
        Assert.That(Body("x=5\nqio in <<EOF\nv=$x $((x * 2))\nEOF\n"), Is.EqualTo("v=5 10\n"));
        Assert.That(Body("x=5\nqio in <<'EOF'\nv=$x\nEOF\n"), Is.EqualTo("v=$x\n"));
    }

    [Test]
    public void Unquoted_empty_expansion_vanishes_but_quoted_empty_stays() =>
        Assert.That(Body("qio $nothing \"$nothing\"\n"), Is.EqualTo("arg \n"));

    [Test]
    public void Poke_and_peek_write_and_read_bytes_in_place()
    {
        var output = Body("truncate -s 16 \"$TEST_DIR/f\"\npoke_file \"$TEST_DIR/f\" 4 '\\x12\\x34'\npeek_file_be \"$TEST_DIR/f\" 4 2\npeek_file_le \"$TEST_DIR/f\" 4 2\n");
        Assert.That(output, Is.EqualTo("4660\n13330\n"));
    }

    [Test]
    public void Notrun_stops_the_scenario_with_a_reason()
    {
        var s = _box.Add("998", "# self-test\necho before\n_notrun \"no frobnicator\"\necho after\n", "");
        var r = _box.Run(s);
        Assert.That((r.Outcome, r.Reason), Is.EqualTo((Outcome.NotRun, "no frobnicator")));
    }

    [Test]
    public void Run_errors_are_printed_with_file_and_line()
    {
        var output = Body("echo ok\necho $((1 / 0))\necho never\n");
        Assert.That(output, Does.Match(@"^ok\niotests: .*999:3: arithmetic: division by zero\n$"));
    }

    [Test]
    public void The_stdout_buffer_drains_in_4096_byte_blocks_when_it_fills()
    {
        var big = new string('x', 5000);
        var output = Body($"qio o:{big} e:err\n");
        Assert.That(output, Is.EqualTo(big[..4096] + "err\n" + big[4096..] + "\n"));
    }
}
