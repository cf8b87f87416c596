using System.Text;

namespace Qcow2.Harness;

/// <summary>
/// Runs a scenario body against a target. Output is collected the way a shell with its stdout and stderr
/// on one file collects it: a tool's stderr arrives as written, its stdout when flushed; with
/// <c>cmd | filter</c> the filtered stdout arrives after cmd ends; with <c>2&gt;&amp;1 |</c> both pass the filter.
/// </summary>
internal sealed partial class Interpreter
{
    private readonly Scenario _scenario;
    private readonly Target _target;
    private readonly StringBuilder _output = new();

    // Where stdout and stderr of the command running now go; null discards (/dev/null).
    private StringBuilder? _stdout;
    private StringBuilder? _stderr;

    // The file and line of the statement running now, for error messages.
    private string _file;
    private int _line;

    /// <summary>Creates an interpreter for one run of scenario in testDir.</summary>
    public Interpreter(Scenario scenario, Target target, string testDir)
    {
        _scenario = scenario;
        _target = target;
        _file = ScenarioParser.DisplayPath(scenario.ScriptPath);
        Env = new ScenarioEnv(testDir, scenario.Number);
        _stdout = _output;
        _stderr = _output;
    }

    /// <summary>The scenario's variables.</summary>
    public ScenarioEnv Env { get; }

    /// <summary>Set when the scenario called _notrun.</summary>
    public string? NotRunReason { get; private set; }

    /// <summary>Runs the body; returns the complete output, starting with the "QA output created by" line.</summary>
    public string Run()
    {
        _output.Append("QA output created by ").Append(_scenario.Number).Append('\n');
        try
        {
            ExecuteList(_scenario.Body);
        }
        catch (Builtins.NotRunException e)
        {
            NotRunReason = e.Message;
        }
#pragma warning disable CA1031 // any failure of a statement is reported in the output, which then fails the comparison
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException or KeyNotFoundException)
#pragma warning restore CA1031
        {
            _output.Append($"iotests: {_file}:{_line}: {e.Message}\n");
        }

        return _output.ToString();
    }

    /// <summary>Resolves a path argument against TEST_DIR (the working directory of every command).</summary>
    public string PathOf(string p) => Path.GetFullPath(p, Env.TestDir);

    /// <summary>Runs a target tool and normalizes its program name in messages.</summary>
    public ToolRun RunTool(string tool, IReadOnlyList<string> args, string? stdin, bool merge)
    {
        if (!_target.Tools.TryGetValue(tool, out var runner))
        {
            throw new KeyNotFoundException($"target {_target.Name} has no tool '{tool}'");
        }

        var run = runner.Run(args, stdin, Env.TestDir, merge);
        var atLineStart = new[] { true, true };
        var partial = new[] { "", "" };
        var chunks = new List<OutputChunk>();
        foreach (var c in run.Chunks)
        {
            var k = c.IsError ? 1 : 0;
            var text = c.Text;
            if (text.Length == 0)
            {
                continue;
            }

            // Only rewrite a name that begins a line, so a chunk continuing a line is left alone.
            var normalized = _target.NormalizeProgramNames(atLineStart[k] ? text : "\u0001" + text);
            chunks.Add(c with { Text = atLineStart[k] ? normalized : normalized[1..] });
            // A line that so far holds only prompts (qio flushes each "qio> " on its own) still starts a line.
            var line = partial[k] + text;
            partial[k] = line[(line.LastIndexOf('\n') + 1)..];
            atLineStart[k] = _target.IsOnlyPrompts(partial[k]);
        }

        return run with { Chunks = chunks };
    }
}
