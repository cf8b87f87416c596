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

            var body = ParseBody(text, display, Path.GetDirectoryName(Path.GetFullPath(scriptPath)));
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
        foreach (var raw in Tokenizer.SplitLines(text))
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

    /// <summary>Parses a script body into statements and checks that every command exists.</summary>
    public static List<Statement> ParseBody(string text, string file, string? dir = null)
    {
        var body = ScriptParser.Parse(text, file, dir ?? Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".");
        var functions = body.SelectMany(s => s.Descendants()).OfType<FunctionDef>().Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        CheckCommands(body, file, functions);
        return body;
    }

    private static void CheckCommands(IEnumerable<Statement> statements, string file, HashSet<string> functions)
    {
        foreach (var s in statements)
        {
            if (s is Source src)
            {
                CheckCommands(src.Body, src.File, functions);
                continue;
            }

            if (s is Pipeline { Commands: [var first, ..] } && !functions.Contains(first.Name) && !Builtins.IsCommand(first.Name))
            {
                var hint = Filters.IsFilter(first.Name) ? " (filters read a pipe: put them after '|')" : "";
                throw new ScriptException(file, first.Line, $"unknown command '{first.Name}'{hint}");
            }

            CheckCommands(s.Children, file, functions);
        }
    }

    /// <summary>Makes an assignment or a pipeline of a simple command and its filters.</summary>
    public static Statement MakeStatement(List<SimpleCommand> commands, string file)
    {
        var first = commands[0];
        var line = first.Line;
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

    private static string[] Words(string s) => s.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
}
