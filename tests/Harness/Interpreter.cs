using System.Text;

namespace Qcow2.Harness;

/// <summary>
/// Runs a scenario body against a target. Output is collected the way a shell with its stdout and stderr
/// on one file collects it: a tool's stderr arrives as written, its stdout when flushed; with
/// <c>cmd | filter</c> the filtered stdout arrives after cmd ends; with <c>2&gt;&amp;1 |</c> both pass the filter.
/// </summary>
internal sealed class Interpreter
{
    private enum Dest
    {
        Sink,
        Pipe,
        Null,
    }

    private readonly Scenario _scenario;
    private readonly Target _target;
    private readonly StringBuilder _output = new();
    private readonly string _file;

    /// <summary>Creates an interpreter for one run of scenario in testDir.</summary>
    public Interpreter(Scenario scenario, Target target, string testDir)
    {
        _scenario = scenario;
        _target = target;
        _file = ScenarioParser.DisplayPath(scenario.ScriptPath);
        Env = new ScenarioEnv(testDir, scenario.Number);
    }

    /// <summary>The scenario's variables.</summary>
    public ScenarioEnv Env { get; }

    /// <summary>Set when the scenario called _notrun.</summary>
    public string? NotRunReason { get; private set; }

    /// <summary>Runs the body; returns the complete output, starting with the "QA output created by" line.</summary>
    public string Run()
    {
        _output.Append("QA output created by ").Append(_scenario.Number).Append('\n');
        foreach (var statement in _scenario.Body)
        {
            try
            {
                Execute(statement);
            }
            catch (Builtins.NotRunException e)
            {
                NotRunReason = e.Message;
                break;
            }
#pragma warning disable CA1031 // any failure of a statement is reported in the output, which then fails the comparison
            catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException or KeyNotFoundException)
#pragma warning restore CA1031
            {
                _output.Append($"iotests: {_file}:{statement.Line}: {e.Message}\n");
                break;
            }
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

    private void Execute(Statement statement)
    {
        var expander = new Expander(Env.Get);
        switch (statement)
        {
            case Assignment a:
                foreach (var (name, value) in a.Pairs)
                {
                    Env.Set(name, expander.ExpandWord(value.Raw) ?? "");
                }

                Env.SetStatus([0]);
                break;

            case Pipeline p:
                RunPipeline(p, expander);
                break;
        }
    }

    private void RunPipeline(Pipeline p, Expander expander)
    {
        var first = p.Commands[0];
        var args = Expand(first, expander);
        var outDest = p.Commands.Count > 1 ? Dest.Pipe : Dest.Sink;
        var errDest = Dest.Sink;
        foreach (var r in first.Redirects)
        {
            switch (r)
            {
                case RedirectKind.StdoutToNull: outDest = Dest.Null; break;
                case RedirectKind.StderrToNull: errDest = Dest.Null; break;
                case RedirectKind.StderrToStdout: errDest = outDest; break;
            }
        }

        var stdin = first.Stdin is null ? null : first.Stdin.Expand ? expander.ExpandHeredoc(first.Stdin.Body) : first.Stdin.Body;
        var merge = outDest == errDest && outDest != Dest.Null;
        var run = Builtins.ToolOf(first.Name) == first.Name
            ? RunTool(first.Name, args, stdin, merge)
            : Builtins.Run(this, first.Name, args);

        var pipe = new StringBuilder();
        foreach (var c in run.Chunks)
        {
            switch (c.IsError ? errDest : outDest)
            {
                case Dest.Sink: _output.Append(c.Text); break;
                case Dest.Pipe: pipe.Append(c.Text); break;
            }
        }

        var statuses = new List<int> { run.ExitCode };
        var text = pipe.ToString();
        foreach (var filter in p.Commands.Skip(1))
        {
            var (filtered, status) = Filters.Apply(filter.Name, Expand(filter, expander), text, Env);
            text = filtered;
            statuses.Add(status);
        }

        _output.Append(text);
        Env.SetStatus(statuses);
    }

    private static List<string> Expand(SimpleCommand c, Expander expander) =>
        c.Words.Skip(1).Select(w => expander.ExpandWord(w.Raw)).OfType<string>().ToList();
}
