using System.Text;

namespace Qcow2.Harness;

/// <summary>Statements: lists, pipelines, redirections, loops, conditions and functions, as the shell runs them.</summary>
internal sealed partial class Interpreter
{
    /// <summary>How a statement ended: normally, or by break, continue or return.</summary>
    private enum Flow
    {
        Next,
        Break,
        Continue,
        Return,
    }

    private readonly Dictionary<string, FunctionDef> _functions = new(StringComparer.Ordinal);

    // Saved values of variables made local in each active function call (null: was unset).
    private readonly Stack<Dictionary<string, string?>> _locals = new();

    // Loops enclosing the statement running now (within the current function), and how many
    // more loops a pending break or continue must leave.
    private int _loopDepth;
    private int _pendingLevels;

    // Sourced files being run ('return' leaves the innermost).
    private int _sourceDepth;

    private Expander NewExpander() => new(Env.Get, Env.Positional, Env.Set);

    private Flow ExecuteList(IEnumerable<Statement> statements)
    {
        foreach (var s in statements)
        {
            var flow = Execute(s);
            if (flow != Flow.Next)
            {
                return flow;
            }
        }

        return Flow.Next;
    }

    private Flow Execute(Statement statement)
    {
        _line = statement.Line;
        switch (statement)
        {
            case Assignment a:
                var expander = NewExpander();
                foreach (var (name, value) in a.Pairs)
                {
                    Env.Set(name, expander.ExpandWord(value.Raw) ?? "");
                }

                SetStatus(0);
                return Flow.Next;

            case Pipeline p:
                return RunPipeline(p);

            case Redirected r:
                return WithStreams(r.Redirects, r.Filters, NewExpander(), () => Execute(r.Inner));

            case AndOr ao:
                return RunAndOr(ao);

            case Not n:
                var flow = Execute(n.Inner);
                SetStatus(Env.Status == 0 ? 1 : 0);
                return flow;

            case Block b:
                return ExecuteList(b.Statements);

            case ForLoop f:
                return RunFor(f);

            case WhileLoop w:
                return RunWhile(w);

            case IfChain i:
                return RunIf(i);

            case FunctionDef d:
                _functions[d.Name] = d;
                SetStatus(0);
                return Flow.Next;

            case ArithCommand c:
                var result = Arithmetic.Evaluate(NewExpander().ExpandHeredoc(c.Expression), Env.Get, Env.Set);
                SetStatus(result != 0 ? 0 : 1);
                return Flow.Next;

            case Source src:
                return RunSource(src);

            default:
                throw new ArgumentOutOfRangeException(nameof(statement), statement.GetType().Name, "unknown statement");
        }
    }

    private void SetStatus(int status) => Env.SetStatus([status]);

    private Flow RunAndOr(AndOr ao)
    {
        var flow = Execute(ao.First);
        foreach (var (and, next) in ao.Rest)
        {
            if (flow != Flow.Next)
            {
                return flow;
            }

            if ((Env.Status == 0) == and)
            {
                flow = Execute(next);
            }
        }

        return flow;
    }

    private Flow RunSource(Source src)
    {
        var (file, line) = (_file, _line);
        _file = src.File;
        _sourceDepth++;
        try
        {
            var flow = ExecuteList(src.Body);
            return flow == Flow.Return ? Flow.Next : flow;
        }
        finally
        {
            (_file, _line) = (file, line);
            _sourceDepth--;
        }
    }

    private Flow RunFor(ForLoop f)
    {
        var expander = NewExpander();
        var items = f.Items is null ? Env.Positional.ToList() : f.Items.SelectMany(w => expander.ExpandArgs(w.Raw)).ToList();
        SetStatus(0);
        foreach (var item in items)
        {
            Env.Set(f.Name, item);
            if (LoopBody(f.Body) is { } exit)
            {
                return exit;
            }
        }

        return Flow.Next;
    }

    private Flow RunWhile(WhileLoop w)
    {
        var status = 0;
        while (true)
        {
            var flow = Execute(w.Condition);
            if (flow != Flow.Next)
            {
                return flow;
            }

            if ((Env.Status == 0) == w.Until)
            {
                SetStatus(status);
                return Flow.Next;
            }

            if (LoopBody(w.Body) is { } exit)
            {
                return exit;
            }

            status = Env.Status;
        }
    }

    /// <summary>Runs one pass of a loop body; returns the flow that ends the loop, or null to go on.</summary>
    private Flow? LoopBody(Block body)
    {
        _loopDepth++;
        Flow flow;
        try
        {
            flow = Execute(body);
        }
        finally
        {
            _loopDepth--;
        }

        switch (flow)
        {
            case Flow.Break or Flow.Continue when --_pendingLevels > 0:
                return flow;
            case Flow.Break:
                return Flow.Next;
            case Flow.Return:
                return flow;
            default:
                return null;
        }
    }

    private Flow RunIf(IfChain i)
    {
        foreach (var (condition, then) in i.Branches)
        {
            var flow = Execute(condition);
            if (flow != Flow.Next)
            {
                return flow;
            }

            if (Env.Status == 0)
            {
                return Execute(then);
            }
        }

        SetStatus(0);
        return i.Else is null ? Flow.Next : Execute(i.Else);
    }

    private Flow RunPipeline(Pipeline p)
    {
        var first = p.Commands[0];
        var filters = p.Commands.Skip(1).ToList();
        var expander = NewExpander();
        var args = first.Words.Skip(1).SelectMany(w => expander.ExpandArgs(w.Raw)).ToList();
        if (Builtins.ControlCommands.Contains(first.Name))
        {
            return RunControl(first.Name, args);
        }

        if (_functions.TryGetValue(first.Name, out var function))
        {
            if (first.Stdin is not null || first.Redirects.Any(r => r.Op == RedirectOp.Read))
            {
                throw new ArgumentException($"{first.Name}: a function takes no standard input");
            }

            return WithStreams(first.Redirects, filters, expander, () =>
            {
                var flow = CallFunction(function, args);
                // As in bash, a function call is a pipeline of one command: PIPESTATUS is its status.
                SetStatus(Env.Status);
                return flow;
            });
        }

        var stdin = first.Stdin is null ? null : first.Stdin.Expand ? expander.ExpandHeredoc(first.Stdin.Body) : first.Stdin.Body;
        foreach (var r in first.Redirects.Where(r => r.Op == RedirectOp.Read))
        {
            var source = expander.ExpandWord(r.Target!.Raw) ?? "";
            stdin = File.Exists(PathOf(source)) ? File.ReadAllText(PathOf(source)) : throw new FileNotFoundException($"{source}: No such file or directory");
        }

        return WithStreams(first.Redirects, filters, expander, () =>
        {
            var merge = _stdout is not null && ReferenceEquals(_stdout, _stderr);
            var run = Builtins.ToolOf(first.Name) == first.Name
                ? RunTool(first.Name, args, stdin, merge)
                : Builtins.Run(this, first.Name, args, stdin);
            foreach (var c in run.Chunks)
            {
                (c.IsError ? _stderr : _stdout)?.Append(c.Text);
            }

            SetStatus(run.ExitCode);
            return Flow.Next;
        });
    }

    /// <summary>
    /// Runs body with its redirections applied (left to right) and, if there are filters, its stdout
    /// collected and passed through them to the enclosing stdout when it ends.
    /// </summary>
    private Flow WithStreams(IReadOnlyList<Redirect> redirects, IReadOnlyList<SimpleCommand> filters, Expander expander, Func<Flow> body)
    {
        var (outer, outerErr) = (_stdout, _stderr);
        var pipe = filters.Count > 0 ? new StringBuilder() : null;
        var files = new List<(string Path, StringBuilder Text)>();
        Flow flow;
        try
        {
            _stdout = pipe ?? outer;
            foreach (var r in redirects.Where(r => r.Op != RedirectOp.Read))
            {
                var sink = r.Op == RedirectOp.Duplicate ? (r.Fd == 2 ? _stdout : _stderr) : OpenFile(r, expander, files);
                (r.Fd == 2 ? ref _stderr : ref _stdout) = sink;
            }

            flow = body();
        }
        finally
        {
            (_stdout, _stderr) = (outer, outerErr);
            foreach (var (path, text) in files)
            {
                File.AppendAllText(path, text.ToString());
            }
        }

        if (pipe is not null)
        {
            var statuses = new List<int> { Env.Status };
            var text = pipe.ToString();
            foreach (var filter in filters)
            {
                var (filtered, status) = Filters.Apply(filter.Name, filter.Words.Skip(1).SelectMany(w => expander.ExpandArgs(w.Raw)).ToList(), text, Env);
                text = filtered;
                statuses.Add(status);
            }

            _stdout?.Append(text);
            Env.SetStatus(statuses);
        }

        return flow;
    }

    /// <summary>The sink for <c>&gt; FILE</c> or <c>&gt;&gt; FILE</c> (null for /dev/null); the file is truncated now and written when the command ends.</summary>
    private StringBuilder? OpenFile(Redirect r, Expander expander, List<(string Path, StringBuilder Text)> files)
    {
        var target = expander.ExpandWord(r.Target!.Raw) ?? throw new ArgumentException($"{r.Target.Raw}: ambiguous redirect");
        if (target == "/dev/null")
        {
            return null;
        }

        var path = PathOf(target);
        if (r.Op == RedirectOp.Write || !File.Exists(path))
        {
            File.WriteAllText(path, "");
        }

        var sink = new StringBuilder();
        files.Add((path, sink));
        return sink;
    }

    private Flow CallFunction(FunctionDef function, IReadOnlyList<string> args)
    {
        var (positional, loopDepth, line) = (Env.Positional, _loopDepth, _line);
        Env.Positional = args;
        _loopDepth = 0;
        _locals.Push(new Dictionary<string, string?>(StringComparer.Ordinal));
        try
        {
            var flow = Execute(function.Body);
            if (flow is Flow.Break or Flow.Continue)
            {
                throw new ArgumentException($"{flow.ToString().ToLowerInvariant()}: only meaningful in a loop");
            }

            return Flow.Next;
        }
        finally
        {
            foreach (var (name, old) in _locals.Pop())
            {
                if (old is null)
                {
                    Env.Unset(name);
                }
                else
                {
                    Env.Set(name, old);
                }
            }

            (Env.Positional, _loopDepth) = (positional, loopDepth);
            _line = line;
        }
    }

    private Flow RunControl(string name, List<string> args)
    {
        var n = args.Count > 0 && name != "local" ? (int)Arithmetic.ParseNumber(args[0]) : -1;
        switch (name)
        {
            case "break" or "continue":
                if (_loopDepth == 0)
                {
                    throw new ArgumentException($"{name}: only meaningful in a 'for', 'while', or 'until' loop");
                }

                _pendingLevels = Math.Clamp(n < 0 ? 1 : n, 1, _loopDepth);
                SetStatus(0);
                return name == "break" ? Flow.Break : Flow.Continue;

            case "return":
                if (_locals.Count == 0 && _sourceDepth == 0)
                {
                    throw new ArgumentException("return: can only 'return' from a function or sourced script");
                }

                SetStatus(n < 0 ? Env.Status : n & 0xff);
                return Flow.Return;

            default:
                if (!_locals.TryPeek(out var frame))
                {
                    throw new ArgumentException("local: can only be used in a function");
                }

                foreach (var a in args)
                {
                    var eq = a.IndexOf('=', StringComparison.Ordinal);
                    var var = eq < 0 ? a : a[..eq];
                    frame.TryAdd(var, Env.Get(var));
                    if (eq < 0)
                    {
                        Env.Unset(var);
                    }
                    else
                    {
                        Env.Set(var, a[(eq + 1)..]);
                    }
                }

                SetStatus(0);
                return Flow.Next;
        }
    }
}
