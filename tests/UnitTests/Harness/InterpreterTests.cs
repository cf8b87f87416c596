using NUnit.Framework;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>The scenario language and the stream model, run with a scripted fake tool.</summary>
[TestFixture]
public sealed class InterpreterTests : SandboxFixture
{

    private string Body(string body)
    {
        var s = Box.Add("999", "# self-test\n" + body, "");
        Assert.That(s.ParseError, Is.Null);
        return Box.Run(s).Output["QA output created by 999\n".Length..];
    }

    /// <summary>Scenario bodies and the output the interpreter gives for each, one fact a row.</summary>
    [TestCase("qio o:report e:error\n", "error\nreport\n", TestName = "Stderr_comes_before_unflushed_stdout_like_a_real_process")]
    [TestCase("qio o:report f e:error\n", "report\nerror\n", TestName = "A_flush_puts_stdout_before_a_later_stderr_write")]
    [TestCase("qio o:a f e:b o:keep | grep -v a\n", "b\nkeep\n", TestName = "Piped_stdout_is_filtered_and_stderr_bypasses_the_filter")]
    [TestCase("qio o:a f e:b o:c 2>&1 | grep -v b\n", "a\nc\n", TestName = "With_2_to_1_both_streams_pass_the_filter_in_flush_order")]
    [TestCase("qio o:a e:b >/dev/null\n", "b\n", TestName = "Redirections_to_dev_null_drop_a_stream(1)")]
    [TestCase("qio o:a e:b 2>/dev/null\n", "a\n", TestName = "Redirections_to_dev_null_drop_a_stream(2)")]
    [TestCase("qio 'e:fake: cannot open' 'e:x fake: y'\n", "qemu-io: cannot open\nx fake: y\n", TestName = "Program_name_is_normalized_only_at_line_starts")]
    [TestCase("qio x:3\necho $?\n", "3\n", TestName = "Exit_status_and_pipestatus(1)")]
    [TestCase("qio x:3 | grep nothing\necho $? ${PIPESTATUS[0]} ${PIPESTATUS[1]}\n", "1 3 1\n", TestName = "Exit_status_and_pipestatus(2)")]
    [TestCase("x=5\nqio in <<EOF\nv=$x $((x * 2))\nEOF\n", "v=5 10\n", TestName = "Heredoc_is_stdin_and_expanded_unless_quoted(1)")]
    [TestCase("x=5\nqio in <<'EOF'\nv=$x\nEOF\n", "v=$x\n", TestName = "Heredoc_is_stdin_and_expanded_unless_quoted(2)")]
    [TestCase("qio $nothing \"$nothing\"\n", "arg \n", TestName = "Unquoted_empty_expansion_vanishes_but_quoted_empty_stays")]
    [TestCase("for x in a 'b c' \"\" d; do\n    echo \"[$x]\"\ndone\necho $x\n", "[a]\n[b c]\n[]\n[d]\nd\n", TestName = "For_loops_in_multi_line_and_one_line_form(1)")]
    [TestCase("for i in 1 2 3; do echo -n $i; done; echo\n", "123\n", TestName = "For_loops_in_multi_line_and_one_line_form(2)")]
    [TestCase("for i in \\\n    1 \\\n    2 \\\n\ndo\necho $i\ndone\n", "1\n2\n", TestName = "For_loops_in_multi_line_and_one_line_form(3)")]
    [TestCase("i=0\nwhile (( i < 3 )); do echo $i; i=$((i + 1)); done\n", "0\n1\n2\n", TestName = "While_and_until_loop_on_arithmetic_and_test_conditions(1)")]
    [TestCase("i=3\nuntil [ $i -le 0 ]\ndo\n  echo $i\n  (( i-- ))\ndone\n", "3\n2\n1\n", TestName = "While_and_until_loop_on_arithmetic_and_test_conditions(2)")]
    [TestCase("while true; do echo once; break; done\n", "once\n", TestName = "While_and_until_loop_on_arithmetic_and_test_conditions(3)")]
    [TestCase("[ abc -eq 1 ]\necho $?\n", "[: abc: integer expression expected\n2\n", TestName = "Test_builtin_reports_a_non_integer")]
    [TestCase("true && echo yes || echo no\nfalse && echo yes || echo no\n", "yes\nno\n", TestName = "And_or_lists_run_by_status(1)")]
    [TestCase("qio x:3 && echo never\necho $?\n! false && echo negated\n", "3\nnegated\n", TestName = "And_or_lists_run_by_status(2)")]
    [TestCase("[ 1 = 1 ] &&\n    echo continued\n", "continued\n", TestName = "And_or_lists_run_by_status(3)")]
    [TestCase("(( 2 > 1 && 1 != 1 )); echo $?\n(( 0 || 3 <= 3 )); echo $?\n", "1\n0\n", TestName = "Arithmetic_commands_compare_assign_and_short_circuit(1)")]
    [TestCase("i=5\n(( i += 2, j = i * 2 ))\necho $i $j $((i++)) $i $((++i)) $((i == 9 ? 100 : 200))\n", "7 14 7 8 9 100\n", TestName = "Arithmetic_commands_compare_assign_and_short_circuit(2)")]
    [TestCase("x=0\n(( 0 && (x = 1) ))\necho $x $(( 1 || 1 / 0 ))\n", "0 1\n", TestName = "Arithmetic_commands_compare_assign_and_short_circuit(3)")]
    // C precedence: * over +, + over <<, << over <, < over ==, == over |, | over &&.
    [TestCase("echo $((1 + 2 * 3 == 7 && 8 >> 1 < 5)) $((2 | 1 == 1)) $((1 << 2 + 1)) $((-3 % 2)) $((~0 ^ 5))\n", "1 3 8 -1 -6\n", TestName = "Arithmetic_commands_compare_assign_and_short_circuit(4)")]
    [TestCase("echo one > f\necho two >> f\ncat f\necho three > f\ncat f\n", "one\ntwo\nthree\n", TestName = "Output_redirection_truncates_or_appends(1)")]
    // Like a real process whose stdout is a file: stderr is written at once, stdout when the tool exits.
    [TestCase("qio o:a e:b > f 2>&1\necho --\ncat f\n", "--\nb\na\n", TestName = "Output_redirection_truncates_or_appends(2)")]
    [TestCase("qio o:a e:b 2> f\necho --\ncat f\n", "a\n--\nb\n", TestName = "Output_redirection_truncates_or_appends(3)")]
    [TestCase("echo msg >&2 | grep -v msg\n", "msg\n", TestName = "Output_redirection_truncates_or_appends(4)")]
    [TestCase("for i in 1 2; do echo $i; done > f\ncat f\n", "1\n2\n", TestName = "A_loop_redirected_to_a_file_or_a_filter_collects_every_pass(1)")]
    [TestCase("for i in 1 2 3; do echo $i; done | grep -v 2\n", "1\n3\n", TestName = "A_loop_redirected_to_a_file_or_a_filter_collects_every_pass(2)")]
    [TestCase("{ echo a; echo b; } | grep b\n", "b\n", TestName = "A_loop_redirected_to_a_file_or_a_filter_collects_every_pass(3)")]
    [TestCase("cat nothing\necho $?\n", "cat: nothing: No such file or directory\n1\n", TestName = "Cat_of_a_missing_file_fails_like_cat")]
    public void A_body_gives_its_output(string body, string expected) =>
        Assert.That(Body(body), Is.EqualTo(expected));

    [Test]
    public void Output_starts_with_the_QA_line() =>
        Assert.That(Box.Output("echo hi\n"), Is.EqualTo("QA output created by 999\nhi\n"));

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
    public void Poke_and_peek_write_and_read_bytes_in_place()
    {
        var output = Body("truncate -s 16 \"$TEST_DIR/f\"\npoke_file \"$TEST_DIR/f\" 4 '\\x12\\x34'\npeek_file_be \"$TEST_DIR/f\" 4 2\npeek_file_le \"$TEST_DIR/f\" 4 2\n");
        Assert.That(output, Is.EqualTo("4660\n13330\n"));
    }

    [Test]
    public void Notrun_stops_the_scenario_with_a_reason()
    {
        var s = Box.Add("998", "# self-test\necho before\n_notrun \"no frobnicator\"\necho after\n", "");
        var r = Box.Run(s);
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

    [Test]
    public void Nested_loops_with_break_and_continue()
    {
        var script = "for i in 1 2 3; do\n  for j in a b c; do\n    if [ $j = b ]; then continue; fi\n    if [ $i = 2 ]; then continue 2; fi\n"
            + "    if [ $i = 3 ]; then break 2; fi\n    echo $i$j\n  done\ndone\necho end\n";
        Assert.That(Body(script), Is.EqualTo("1a\n1c\nend\n"));
    }

    [Test]
    public void If_elif_else_takes_the_first_true_branch()
    {
        const string f = "t() {\n  if [ \"$1\" = a ]; then\n    echo A\n  elif (( $1 > 5 )); then\n    echo big\n  else\n    echo other\n  fi\n}\n";
        Assert.That(Body(f + "t a\nt 7\nt 2\nif false; then echo no; fi; echo $?\n"), Is.EqualTo("A\nbig\nother\n0\n"));
    }

    [TestCase("[ abc = abc ]", 0)]
    [TestCase("[ abc == abd ]", 1)]
    [TestCase("[ abc != abd ]", 0)]
    [TestCase("[ -z '' ]", 0)]
    [TestCase("[ -n '' ]", 1)]
    [TestCase("[ -n x ]", 0)]
    [TestCase("[ x ]", 0)]
    [TestCase("[ '' ]", 1)]
    [TestCase("[ ]", 1)]
    [TestCase("[ 10 -eq 0xa ]", 2)]
    [TestCase("[ 10 -eq 10 ]", 0)]
    [TestCase("[ 3 -ne 4 ]", 0)]
    [TestCase("[ -3 -lt 2 ]", 0)]
    [TestCase("[ 2 -le 2 ]", 0)]
    [TestCase("[ 2 -gt 2 ]", 1)]
    [TestCase("[ 2 -ge 3 ]", 1)]
    [TestCase("[ ! 2 -ge 3 ]", 0)]
    [TestCase("[ a = a -a b = c ]", 1)]
    [TestCase("[ a = a -o b = c ]", 0)]
    [TestCase("[ \\( a = b \\) -o x ]", 0)]
    [TestCase("test -e f", 0)]
    [TestCase("test -f f", 0)]
    [TestCase("test -e nothing", 1)]
    [TestCase("[ a = a", 2)]
    public void Test_builtin_gives_the_shell_status(string condition, int status) =>
        Assert.That(Body($"echo hi > f\n{condition}\necho $?\n"), Does.EndWith($"{status}\n"));

    [Test]
    public void Functions_take_positional_parameters_and_return_a_status()
    {
        var f = "show() {\n    echo \"$# args: $1 $2|$@|\"\n    for a in \"$@\"; do echo \"<$a>\"; done\n    return 3\n    echo unreachable\n}\n";
        Assert.That(Body(f + "show one 'two words'\necho $? \"[$1]\"\n"),
            Is.EqualTo("2 args: one two words|one two words|\n<one>\n<two words>\n3 []\n"));
    }

    [Test]
    public void One_line_functions_locals_and_nested_calls()
    {
        var f = "inner() { echo \"inner $1 x=$x\"; }\nouter()\n{\n    local x=in y\n    inner $1$1\n    y=set\n    g=global\n}\n";
        Assert.That(Body(f + "x=out\ny=before\nouter z\necho $x $y $g\n"), Is.EqualTo("inner zz x=in\nout before global\n"));
    }

    [Test]
    public void Return_leaves_a_loop_inside_a_function()
    {
        var f = "first_big() { for v in \"$@\"; do if (( v > 10 )); then echo $v; return 0; fi; done; return 1; }\n";
        Assert.That(Body(f + "first_big 3 12 40; echo $?\nfirst_big 1 2; echo $?\n"), Is.EqualTo("12\n0\n1\n"));
    }

    [Test]
    public void Function_output_passes_filters_and_redirections()
    {
        var f = "both() { qio o:out e:err; }\n";
        Assert.That(Body(f + "both | grep -v nothing\n"), Is.EqualTo("err\nout\n"));
        Assert.That(Body(f + "both 2>&1 | grep -v err\n"), Is.EqualTo("out\n"));
        Assert.That(Body(f + "both >/dev/null\n"), Is.EqualTo("err\n"));
    }

    [Test]
    public void Heredoc_written_to_a_file_by_cat_in_a_loop_and_read_back()
    {
        var script = "for event in l1_update l2_load; do\ncat > \"$TEST_DIR/blkdebug.conf\" <<EOF\n[inject-error]\nevent = \"$event\"\nEOF\n"
            + "cat blkdebug.conf\ndone\n";
        Assert.That(Body(script), Is.EqualTo("[inject-error]\nevent = \"l1_update\"\n[inject-error]\nevent = \"l2_load\"\n"));
    }

    [Test]
    public void Source_runs_a_file_next_to_the_scenario()
    {
        File.WriteAllText(Path.Combine(Box.Root, "tests", "iotests", "common.test"), "greet() { echo \"hello $1\"; }\nshared=yes\n");
        Assert.That(Body(". ./common.test\ngreet world\necho $shared\n"), Is.EqualTo("hello world\nyes\n"));
    }

    [Test]
    public void Break_outside_a_loop_stops_the_scenario_with_its_line() =>
        Assert.That(Body("echo ok\nbreak\necho never\n"), Does.Match(@"^ok\niotests: .*999:3: break: only meaningful in a 'for', 'while', or 'until' loop\n$"));

    [Test]
    public void Input_redirection_feeds_a_file_to_a_tool_or_cat()
    {
        Assert.That(Body("i=0\nwhile (( i < 3 )); do echo \"line $((i * 32))k\"; (( i++ )); done > cmds\nqio in < cmds\ncat < cmds\n"),
            Is.EqualTo("line 0k\nline 32k\nline 64k\nline 0k\nline 32k\nline 64k\n"));
    }

    [Test]
    public void A_function_call_sets_pipestatus_to_its_own_status_and_can_be_redefined()
    {
        var f = "f() { qio x:3 | grep -v x; }\nf\necho \"${PIPESTATUS[0]} ${PIPESTATUS[1]}|\"\nf() { echo second; }\nf\n";
        Assert.That(Body(f), Is.EqualTo("1 |\nsecond\n"));
    }
}
