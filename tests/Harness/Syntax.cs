namespace Qcow2.Harness;

/// <summary>One word of a command line, kept raw (quotes and expansions intact) until it is run.</summary>
internal sealed record Word(string Raw);

/// <summary>Where a redirection sends a stream.</summary>
internal enum RedirectKind
{
    /// <summary><c>2&gt;&amp;1</c>: stderr goes wherever stdout goes.</summary>
    StderrToStdout,

    /// <summary><c>&gt;/dev/null</c>.</summary>
    StdoutToNull,

    /// <summary><c>2&gt;/dev/null</c>.</summary>
    StderrToNull,
}

/// <summary>A here-document given as standard input (<c>&lt;&lt;EOF</c>); Expand is false for a quoted delimiter.</summary>
internal sealed record Heredoc(string Body, bool Expand);

/// <summary>One command of a pipeline: its words, redirections in source order, and optional here-document.</summary>
internal sealed class SimpleCommand
{
    /// <summary>The command name and arguments, unexpanded.</summary>
    public List<Word> Words { get; } = [];

    /// <summary>Redirections, in the order they appear.</summary>
    public List<RedirectKind> Redirects { get; } = [];

    /// <summary>Standard input from a here-document, if any.</summary>
    public Heredoc? Stdin { get; set; }

    /// <summary>The command name (first word, literal).</summary>
    public string Name => Words.Count > 0 ? Words[0].Raw : "";
}

/// <summary>A statement: either variable assignments or a pipeline, with the script line it starts on.</summary>
internal abstract record Statement(int Line);

/// <summary><c>NAME=value ...</c> on its own.</summary>
internal sealed record Assignment(int Line, IReadOnlyList<(string Name, Word Value)> Pairs) : Statement(Line);

/// <summary><c>cmd args | filter | filter</c>.</summary>
internal sealed record Pipeline(int Line, IReadOnlyList<SimpleCommand> Commands) : Statement(Line);

/// <summary>A parse or run error pointing at a script line.</summary>
internal sealed class ScriptException(string file, int line, string message)
    : Exception($"{file}:{line}: {message}")
{
    /// <summary>The script file.</summary>
    public string File { get; } = file;

    /// <summary>The 1-based line.</summary>
    public int LineNumber { get; } = line;
}
