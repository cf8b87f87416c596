using System.Text;

namespace Qcow2.Harness;

/// <summary>
/// Splits a script into words and operators, keeping each word's quoting raw. Lines ending in <c>\</c> are
/// joined; here-document bodies are read from the lines after the line that names them; each line ends
/// with a newline operator.
/// </summary>
internal static class Tokenizer
{
    /// <summary>A lexical token and the script line it is on.</summary>
    internal abstract record Token
    {
        /// <summary>The 1-based script line.</summary>
        public int Line { get; init; }
    }

    /// <summary>A word, with quotes and expansions still in it.</summary>
    internal sealed record WordToken(string Raw) : Token;

    /// <summary>An operator: <c>|</c>, <c>;</c>, <c>&amp;&amp;</c>, <c>||</c>, <c>(</c>, <c>)</c> or a newline ("\n").</summary>
    internal sealed record OpToken(string Op) : Token;

    /// <summary>A redirection.</summary>
    internal sealed record RedirectToken(Redirect Redirect) : Token;

    /// <summary>How a here-document ends and whether its body is expanded.</summary>
    internal sealed record HeredocSpec(string Delimiter, bool Expand, bool StripTabs);

    /// <summary><c>&lt;&lt;EOF</c>; Doc is filled in from the lines that follow.</summary>
    internal sealed record HeredocToken(HeredocSpec Spec) : Token
    {
        /// <summary>The body, once read.</summary>
        public Heredoc? Doc { get; set; }
    }

    /// <summary><c>(( EXPR ))</c> at the start of a command.</summary>
    internal sealed record ArithToken(string Expression) : Token;

    /// <summary>Tokenizes a whole script; errors name file and line.</summary>
    public static List<Token> TokenizeScript(string text, string file)
    {
        var lines = SplitLines(text);
        var tokens = new List<Token>();
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
            var lineTokens = Tokenize(logical.ToString(), file, start + 1);
            foreach (var h in lineTokens.OfType<HeredocToken>())
            {
                h.Doc = ReadHeredoc(lines, ref i, h.Spec, file, start + 1);
            }

            tokens.AddRange(lineTokens);
            tokens.Add(new OpToken("\n") { Line = start + 1 });
        }

        return tokens;
    }

    /// <summary>Splits text into lines (CRLF or LF), without a final empty line.</summary>
    public static List<string> SplitLines(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    private static Heredoc ReadHeredoc(List<string> lines, ref int i, HeredocSpec spec, string file, int line)
    {
        var body = new StringBuilder();
        while (i < lines.Count)
        {
            var l = lines[i++];
            var candidate = spec.StripTabs ? l.TrimStart('\t') : l;
            if (candidate == spec.Delimiter)
            {
                return new Heredoc(body.ToString(), spec.Expand);
            }

            body.Append(candidate).Append('\n');
        }

        throw new ScriptException(file, line, $"here-document delimited by '{spec.Delimiter}' is not terminated");
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

    /// <summary>Tokenizes one logical line (without the newline operator).</summary>
    private static List<Token> Tokenize(string line, string file, int lineNo)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t'))
            {
                i++;
            }

            if (i >= line.Length || line[i] == '#')
            {
                return tokens;
            }

            var commandStart = tokens.Count == 0 || tokens[^1] is OpToken || tokens[^1] is WordToken { Raw: var w } && CommandStarters.Contains(w);
            var token = Next(line, ref i, file, lineNo, commandStart);
            tokens.Add(token with { Line = lineNo });
        }
    }

    // Reserved words after which a command starts, so that '((' there opens an arithmetic command.
    private static readonly HashSet<string> CommandStarters = ["while", "until", "if", "elif", "then", "do", "else", "!", "{"];

    private static readonly string[] Operators = ["&&", "||", "|", ";", "(", ")"];

    private static Token Next(string line, ref int i, string file, int lineNo, bool commandStart)
    {
        var rest = line.AsSpan(i);
        if (commandStart && rest.StartsWith("(("))
        {
            var end = SkipParens(line, i, file, lineNo, "((");
            if (line[end - 2] != ')')
            {
                throw new ScriptException(file, lineNo, "'((' must be closed by '))'");
            }

            var expr = line[(i + 2)..(end - 2)];
            i = end;
            return new ArithToken(expr);
        }

        foreach (var op in Operators)
        {
            if (rest.StartsWith(op))
            {
                i += op.Length;
                return new OpToken(op);
            }
        }

        if (rest.StartsWith("&"))
        {
            throw new ScriptException(file, lineNo, $"unsupported shell syntax near '{Excerpt(line, i)}'");
        }

        if (rest.StartsWith("2>&1") || rest.StartsWith(">&2") || rest.StartsWith("1>&2"))
        {
            var toErr = line[i] != '2';
            i += rest.StartsWith("1>&2") ? 4 : toErr ? 3 : 4;
            return new RedirectToken(new Redirect(toErr ? 1 : 2, RedirectOp.Duplicate, null));
        }

        if (rest.StartsWith("2>") || rest.StartsWith("1>") || rest.StartsWith(">"))
        {
            var fd = line[i] == '2' ? 2 : 1;
            i += line[i] == '>' ? 1 : 2;
            var append = i < line.Length && line[i] == '>';
            i += append ? 1 : 0;
            var target = ReadWord(line, ref i, file, lineNo, skipSpaces: true);
            if (target.Length == 0)
            {
                throw new ScriptException(file, lineNo, "missing file name after '>'");
            }

            return new RedirectToken(new Redirect(fd, append ? RedirectOp.Append : RedirectOp.Write, new Word(target)));
        }

        if (rest.StartsWith("<<"))
        {
            return Heredoc(line, ref i, file, lineNo);
        }

        if (line[i] == '<')
        {
            i++;
            var source = ReadWord(line, ref i, file, lineNo, skipSpaces: true);
            if (source.Length == 0)
            {
                throw new ScriptException(file, lineNo, "missing file name after '<'");
            }

            return new RedirectToken(new Redirect(0, RedirectOp.Read, new Word(source)));
        }

        if (line[i] == '>')
        {
            throw new ScriptException(file, lineNo, $"unsupported redirection near '{Excerpt(line, i)}'");
        }

        return new WordToken(ReadWord(line, ref i, file, lineNo, skipSpaces: false));
    }

    private static HeredocToken Heredoc(string line, ref int i, string file, int lineNo)
    {
        i += 2;
        var strip = i < line.Length && line[i] == '-';
        if (strip)
        {
            i++;
        }

        var raw = ReadWord(line, ref i, file, lineNo, skipSpaces: true);
        var quoted = raw.Contains('\'', StringComparison.Ordinal) || raw.Contains('"', StringComparison.Ordinal);
        var delim = raw.Replace("'", "", StringComparison.Ordinal).Replace("\"", "", StringComparison.Ordinal);
        if (delim.Length == 0)
        {
            throw new ScriptException(file, lineNo, "missing here-document delimiter after '<<'");
        }

        return new HeredocToken(new HeredocSpec(delim, !quoted, strip));
    }

    private static string Excerpt(string line, int i) => line.Substring(i, Math.Min(12, line.Length - i));

    /// <summary>Reads one raw word starting at i, honouring quotes, backslashes, ${...} and $((...)).</summary>
    private static string ReadWord(string line, ref int i, string file, int lineNo, bool skipSpaces)
    {
        if (skipSpaces)
        {
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t'))
            {
                i++;
            }
        }

        var sb = new StringBuilder();
        while (i < line.Length)
        {
            var c = line[i];
            if (c is ' ' or '\t' or '|' or ';' or '<' or '>' or '&' or '(' or ')')
            {
                break;
            }

            var end = c switch
            {
                '\\' => Math.Min(i + 2, line.Length),
                '\'' => SingleQuoted(line, i, file, lineNo),
                '"' => DoubleQuoted(line, i, file, lineNo),
                '$' => Dollar(line, i, file, lineNo),
                _ => i + 1,
            };
            sb.Append(line, i, end - i);
            i = end;
        }

        return sb.ToString();
    }

    private static int SingleQuoted(string line, int i, string file, int lineNo)
    {
        var end = line.IndexOf('\'', i + 1);
        return end >= 0 ? end + 1 : throw new ScriptException(file, lineNo, "unterminated single quote");
    }

    private static int DoubleQuoted(string line, int i, string file, int lineNo)
    {
        var j = i + 1;
        while (j < line.Length && line[j] != '"')
        {
            if (line[j] == '\\')
            {
                j++;
            }
            else if (line[j] == '$' && j + 2 < line.Length && line[j + 1] == '(' && line[j + 2] == '(')
            {
                j = SkipParens(line, j + 1, file, lineNo, "$((") - 1;
            }

            j++;
        }

        return j < line.Length ? j + 1 : throw new ScriptException(file, lineNo, "unterminated double quote");
    }

    private static int Dollar(string line, int i, string file, int lineNo)
    {
        if (i + 2 < line.Length && line[i + 1] == '(' && line[i + 2] == '(')
        {
            return SkipParens(line, i + 1, file, lineNo, "$((");
        }

        if (i + 1 < line.Length && line[i + 1] == '{')
        {
            var end = line.IndexOf('}', i);
            return end >= 0 ? end + 1 : throw new ScriptException(file, lineNo, "unterminated '${'");
        }

        if (i + 1 < line.Length && line[i + 1] == '(')
        {
            throw new ScriptException(file, lineNo, "command substitution $(...) is not supported");
        }

        return i + 1;
    }

    /// <summary>Returns the index just past the ')' that closes the '(' at start.</summary>
    private static int SkipParens(string line, int start, string file, int lineNo, string what)
    {
        var depth = 0;
        for (var j = start; j < line.Length; j++)
        {
            if (line[j] == '(')
            {
                depth++;
            }
            else if (line[j] == ')' && --depth == 0)
            {
                return j + 1;
            }
        }

        throw new ScriptException(file, lineNo, $"unterminated '{what}'");
    }
}
