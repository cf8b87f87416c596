using System.Text;

namespace Qcow2.Harness;

/// <summary>Reads a scenario script: the header block, then the body in the small shell-like language.</summary>
internal static class ScenarioParser
{
    /// <summary>Parses the script at path; a syntax error is kept in <see cref="Scenario.ParseError"/>.</summary>
    public static Scenario Load(string scriptPath, string goldenDir)
    {
        var stem = Path.GetFileName(scriptPath);
        var golden = Path.Combine(goldenDir, stem + ".out");
        var text = File.ReadAllText(scriptPath);
        var display = DisplayPath(scriptPath);
        var (description, groups, requires) = ParseHeader(text);
        try
        {
            if (description.Length == 0)
            {
                throw new ScriptException(display, 1, "the first comment line must be a one-line description");
            }

            var body = ParseBody(text, display);
            return new Scenario(stem, scriptPath, golden, description, groups, requires, body, null);
        }
        catch (ScriptException e)
        {
            return new Scenario(stem, scriptPath, golden, description, groups, requires, [], e.Message);
        }
    }

    /// <summary>The path shown in messages: relative to the current directory when that is shorter.</summary>
    public static string DisplayPath(string path)
    {
        var rel = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return (rel.StartsWith("..", StringComparison.Ordinal) ? path : rel).Replace('\\', '/');
    }

    /// <summary>Extracts description, groups and requirements from the leading comment block.</summary>
    public static (string Description, IReadOnlyList<string> Groups, IReadOnlyList<string> Requires) ParseHeader(string text)
    {
        string description = "";
        var groups = new List<string>();
        var requires = new List<string>();
        var first = true;
        foreach (var raw in SplitLines(text))
        {
            if (raw.StartsWith("#!", StringComparison.Ordinal) && first)
            {
                continue;
            }

            if (!raw.StartsWith('#'))
            {
                break;
            }

            var line = raw.TrimStart('#').Trim();
            if (line.StartsWith("group:", StringComparison.Ordinal))
            {
                groups.AddRange(Words(line["group:".Length..]));
            }
            else if (line.StartsWith("requires:", StringComparison.Ordinal))
            {
                requires.AddRange(Words(line["requires:".Length..]));
            }
            else if (first)
            {
                description = line;
            }

            first = false;
        }

        return (description, groups, requires);
    }

    /// <summary>Parses a script body into statements.</summary>
    public static List<Statement> ParseBody(string text, string file)
    {
        var lines = SplitLines(text);
        var statements = new List<Statement>();
        var i = 0;
        while (i < lines.Count)
        {
            var start = i;
            var logical = new StringBuilder(lines[i]);
            while (EndsWithContinuation(logical) && i + 1 < lines.Count)
            {
                logical.Length--;
                i++;
                logical.Append(lines[i]);
            }

            i++;
            var tokens = Tokenizer.Tokenize(logical.ToString(), file, start + 1);
            var parsed = BuildStatements(tokens, file, start + 1);
            foreach (var (cmd, heredoc) in parsed.Heredocs)
            {
                var body = new StringBuilder();
                var found = false;
                while (i < lines.Count)
                {
                    var l = lines[i++];
                    var candidate = heredoc.StripTabs ? l.TrimStart('\t') : l;
                    if (candidate == heredoc.Delimiter)
                    {
                        found = true;
                        break;
                    }

                    body.Append(candidate).Append('\n');
                }

                if (!found)
                {
                    throw new ScriptException(file, start + 1, $"here-document delimited by '{heredoc.Delimiter}' is not terminated");
                }

                cmd.Stdin = new Heredoc(body.ToString(), heredoc.Expand);
            }

            statements.AddRange(parsed.Statements);
        }

        return statements;
    }

    private static bool EndsWithContinuation(StringBuilder sb)
    {
        var n = 0;
        for (var k = sb.Length - 1; k >= 0 && sb[k] == '\\'; k--)
        {
            n++;
        }

        return n % 2 == 1;
    }

    private sealed record Parsed(List<Statement> Statements, List<(SimpleCommand Cmd, Tokenizer.HeredocSpec Spec)> Heredocs);

    private static Parsed BuildStatements(List<Tokenizer.Token> tokens, string file, int line)
    {
        var statements = new List<Statement>();
        var heredocs = new List<(SimpleCommand, Tokenizer.HeredocSpec)>();
        var commands = new List<SimpleCommand>();
        var current = new SimpleCommand();

        void EndCommand()
        {
            if (current.Words.Count == 0)
            {
                throw new ScriptException(file, line, "missing command before '|' or ';' or redirection");
            }

            commands.Add(current);
            current = new SimpleCommand();
        }

        void EndStatement()
        {
            if (commands.Count == 0 && current.Words.Count == 0)
            {
                return;
            }

            EndCommand();
            statements.Add(MakeStatement(commands, file, line));
            commands = [];
        }

        foreach (var t in tokens)
        {
            switch (t)
            {
                case Tokenizer.WordToken w:
                    current.Words.Add(new Word(w.Raw));
                    break;
                case Tokenizer.PipeToken:
                    EndCommand();
                    break;
                case Tokenizer.SemicolonToken:
                    EndStatement();
                    break;
                case Tokenizer.RedirectToken r:
                    current.Redirects.Add(r.Kind);
                    break;
                case Tokenizer.HeredocToken h:
                    heredocs.Add((current, h.Spec));
                    break;
            }
        }

        EndStatement();
        return new Parsed(statements, heredocs);
    }

    private static Statement MakeStatement(List<SimpleCommand> commands, string file, int line)
    {
        var first = commands[0];
        if (commands.Count == 1 && first.Redirects.Count == 0 && first.Stdin is null && first.Words.All(w => AssignmentName(w.Raw) is not null))
        {
            return new Assignment(line, first.Words.Select(w =>
            {
                var name = AssignmentName(w.Raw)!;
                return (name, new Word(w.Raw[(name.Length + 1)..]));
            }).ToList());
        }

        if (AssignmentName(first.Name) is not null)
        {
            throw new ScriptException(file, line, $"variable prefixes on a command are not supported ('{first.Name}')");
        }

        if (!Builtins.IsCommand(first.Name))
        {
            var hint = Filters.IsFilter(first.Name) ? " (filters read a pipe: put them after '|')" : "";
            throw new ScriptException(file, line, $"unknown command '{first.Name}'{hint}");
        }

        foreach (var c in commands.Skip(1))
        {
            if (!Filters.IsFilter(c.Name))
            {
                throw new ScriptException(file, line, $"'{c.Name}' is not a filter; after '|' use one of: {string.Join(", ", Filters.Names)}");
            }

            if (c.Redirects.Count > 0 || c.Stdin is not null)
            {
                throw new ScriptException(file, line, $"filter '{c.Name}' takes no redirections");
            }
        }

        return new Pipeline(line, commands);
    }

    /// <summary>The variable name if raw is <c>NAME=...</c>, else null.</summary>
    public static string? AssignmentName(string raw)
    {
        var eq = raw.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            return null;
        }

        var name = raw[..eq];
        return IsName(name) ? name : null;
    }

    /// <summary>Whether s is a shell variable name.</summary>
    public static bool IsName(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static List<string> SplitLines(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    private static string[] Words(string s) => s.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
}
