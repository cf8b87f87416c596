namespace Qcow2.Harness;

/// <summary>One word of a command line, kept raw (quotes and expansions intact) until it is run.</summary>
internal sealed record Word(string Raw);

/// <summary>What a redirection does.</summary>
internal enum RedirectOp
{
    /// <summary><c>N&gt;FILE</c>: the stream truncates and writes FILE (<c>/dev/null</c> discards it).</summary>
    Write,

    /// <summary><c>N&gt;&gt;FILE</c>: the stream appends to FILE.</summary>
    Append,

    /// <summary><c>2&gt;&amp;1</c> or <c>&gt;&amp;2</c>: the stream goes wherever the other one goes now.</summary>
    Duplicate,

    /// <summary><c>&lt; FILE</c> (Fd 0): standard input of a simple command comes from FILE.</summary>
    Read,
}

/// <summary>A redirection of stream Fd (0 stdin, 1 stdout, 2 stderr); Target is the file for Write, Append and Read.</summary>
internal sealed record Redirect(int Fd, RedirectOp Op, Word? Target);

/// <summary>A here-document given as standard input (<c>&lt;&lt;EOF</c>); Expand is false for a quoted delimiter.</summary>
internal sealed record Heredoc(string Body, bool Expand);

/// <summary>One command of a pipeline: its words, redirections in source order, and optional here-document.</summary>
internal sealed class SimpleCommand(int line)
{
    /// <summary>The script line the command is on.</summary>
    public int Line { get; } = line;

    /// <summary>The command name and arguments, unexpanded.</summary>
    public List<Word> Words { get; } = [];

    /// <summary>Redirections, in the order they appear.</summary>
    public List<Redirect> Redirects { get; } = [];

    /// <summary>Standard input from a here-document, if any.</summary>
    public Heredoc? Stdin { get; set; }

    /// <summary>The command name (first word, literal).</summary>
    public string Name => Words.Count > 0 ? Words[0].Raw : "";
}

/// <summary>A statement of the script, with the script line it starts on.</summary>
internal abstract record Statement(int Line)
{
    /// <summary>The statements directly inside this one (loop bodies, branches, the head of a pipeline).</summary>
    public virtual IEnumerable<Statement> Children => [];

    /// <summary>This statement and every statement nested in it, depth first.</summary>
    public IEnumerable<Statement> Descendants() => Children.SelectMany(c => c.Descendants()).Prepend(this);
}

/// <summary><c>NAME=value ...</c> on its own.</summary>
internal sealed record Assignment(int Line, IReadOnlyList<(string Name, Word Value)> Pairs) : Statement(Line);

/// <summary><c>cmd args | filter | filter</c>: a simple command (a tool, builtin or function) and the filters its stdout passes.</summary>
internal sealed record Pipeline(int Line, IReadOnlyList<SimpleCommand> Commands) : Statement(Line);

/// <summary>A compound command with redirections and/or filters: <c>for ... done &gt; FILE</c>, <c>{ ...; } 2&gt;&amp;1 | filter</c>.</summary>
internal sealed record Redirected(int Line, Statement Inner, IReadOnlyList<Redirect> Redirects, IReadOnlyList<SimpleCommand> Filters)
    : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => [Inner];
}

/// <summary><c>a &amp;&amp; b || c</c>: each next statement runs when the status so far is zero (And) or non-zero (Or).</summary>
internal sealed record AndOr(int Line, Statement First, IReadOnlyList<(bool And, Statement Next)> Rest) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => Rest.Select(r => r.Next).Prepend(First);
}

/// <summary><c>! pipeline</c>: inverts the status.</summary>
internal sealed record Not(int Line, Statement Inner) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => [Inner];
}

/// <summary>A list of statements run in order: <c>{ ...; }</c>, a loop body, a condition, a branch.</summary>
internal sealed record Block(int Line, IReadOnlyList<Statement> Statements) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => Statements;
}

/// <summary><c>for NAME in WORDS; do BODY; done</c>; Items null means <c>"$@"</c>.</summary>
internal sealed record ForLoop(int Line, string Name, IReadOnlyList<Word>? Items, Block Body) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => [Body];
}

/// <summary><c>while COND; do BODY; done</c>, or <c>until</c> when Until.</summary>
internal sealed record WhileLoop(int Line, bool Until, Block Condition, Block Body) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => [Condition, Body];
}

/// <summary><c>if COND; then ...; elif COND; then ...; else ...; fi</c>.</summary>
internal sealed record IfChain(int Line, IReadOnlyList<(Block Condition, Block Then)> Branches, Block? Else) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children =>
        Branches.SelectMany(b => new Statement[] { b.Condition, b.Then }).Concat(Else is null ? [] : [Else]);
}

/// <summary><c>NAME() { BODY; }</c>: defines a function when run.</summary>
internal sealed record FunctionDef(int Line, string Name, Statement Body) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => [Body];
}

/// <summary><c>(( EXPR ))</c>: status 0 when EXPR is non-zero.</summary>
internal sealed record ArithCommand(int Line, string Expression) : Statement(Line);

/// <summary><c>. FILE</c>: the statements of FILE (read when the scenario is loaded), run in the current context.</summary>
internal sealed record Source(int Line, string File, IReadOnlyList<Statement> Body) : Statement(Line)
{
    /// <inheritdoc/>
    public override IEnumerable<Statement> Children => Body;
}

/// <summary>A parse or run error pointing at a script line.</summary>
internal sealed class ScriptException(string file, int line, string message)
    : Exception($"{file}:{line}: {message}")
{
    /// <summary>The script file.</summary>
    public string File { get; } = file;

    /// <summary>The 1-based line.</summary>
    public int LineNumber { get; } = line;
}
