using System.Text;

namespace Qcow2.Harness;

/// <summary>Splits one logical script line into words and operators, keeping each word's quoting raw.</summary>
internal static class Tokenizer
{
    /// <summary>A lexical token.</summary>
    internal abstract record Token;

    /// <summary>A word, with quotes and expansions still in it.</summary>
    internal sealed record WordToken(string Raw) : Token;

    /// <summary><c>|</c>.</summary>
    internal sealed record PipeToken : Token;

    /// <summary><c>;</c>.</summary>
    internal sealed record SemicolonToken : Token;

    /// <summary>A supported redirection.</summary>
    internal sealed record RedirectToken(RedirectKind Kind) : Token;

    /// <summary>How a here-document ends and whether its body is expanded.</summary>
    internal sealed record HeredocSpec(string Delimiter, bool Expand, bool StripTabs);

    /// <summary><c>&lt;&lt;EOF</c>.</summary>
    internal sealed record HeredocToken(HeredocSpec Spec) : Token;

    /// <summary>Tokenizes a logical line; errors name file and line.</summary>
    public static List<Token> Tokenize(string line, string file, int lineNo)
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

            var rest = line.AsSpan(i);
            if (rest.StartsWith("||") || rest.StartsWith("&&") || rest.StartsWith("&") || rest.StartsWith(">>"))
            {
                throw new ScriptException(file, lineNo, $"unsupported shell syntax near '{Excerpt(line, i)}'");
            }

            if (line[i] == '|')
            {
                tokens.Add(new PipeToken());
                i++;
            }
            else if (line[i] == ';')
            {
                tokens.Add(new SemicolonToken());
                i++;
            }
            else if (rest.StartsWith("2>&1"))
            {
                tokens.Add(new RedirectToken(RedirectKind.StderrToStdout));
                i += 4;
            }
            else if (rest.StartsWith("2>") || rest.StartsWith(">"))
            {
                var err = line[i] == '2';
                i += err ? 2 : 1;
                var target = ReadWord(line, ref i, file, lineNo, skipSpaces: true);
                if (target != "/dev/null")
                {
                    throw new ScriptException(file, lineNo, $"only /dev/null is supported as a redirection target, not '{target}'");
                }

                tokens.Add(new RedirectToken(err ? RedirectKind.StderrToNull : RedirectKind.StdoutToNull));
            }
            else if (rest.StartsWith("<<"))
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

                tokens.Add(new HeredocToken(new HeredocSpec(delim, !quoted, strip)));
            }
            else if (line[i] == '<' || line[i] == '>')
            {
                throw new ScriptException(file, lineNo, $"unsupported redirection near '{Excerpt(line, i)}'");
            }
            else
            {
                tokens.Add(new WordToken(ReadWord(line, ref i, file, lineNo, skipSpaces: false)));
            }
        }
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
            if (c is ' ' or '\t' or '|' or ';' or '<' or '>' or '&')
            {
                break;
            }

            if (c == '\\')
            {
                sb.Append(c);
                i++;
                if (i < line.Length)
                {
                    sb.Append(line[i++]);
                }

                continue;
            }

            if (c == '\'')
            {
                var end = line.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw new ScriptException(file, lineNo, "unterminated single quote");
                }

                sb.Append(line, i, end - i + 1);
                i = end + 1;
                continue;
            }

            if (c == '"')
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
                        j = SkipArithmetic(line, j, file, lineNo) - 1;
                    }

                    j++;
                }

                if (j >= line.Length)
                {
                    throw new ScriptException(file, lineNo, "unterminated double quote");
                }

                sb.Append(line, i, j - i + 1);
                i = j + 1;
                continue;
            }

            if (c == '$' && i + 2 < line.Length && line[i + 1] == '(' && line[i + 2] == '(')
            {
                var end = SkipArithmetic(line, i, file, lineNo);
                sb.Append(line, i, end - i);
                i = end;
                continue;
            }

            if (c == '$' && i + 1 < line.Length && line[i + 1] == '{')
            {
                var end = line.IndexOf('}', i);
                if (end < 0)
                {
                    throw new ScriptException(file, lineNo, "unterminated '${'");
                }

                sb.Append(line, i, end - i + 1);
                i = end + 1;
                continue;
            }

            if (c == '$' && i + 1 < line.Length && line[i + 1] == '(')
            {
                throw new ScriptException(file, lineNo, "command substitution $(...) is not supported");
            }

            sb.Append(c);
            i++;
        }

        return sb.ToString();
    }

    /// <summary>Returns the index just past the "))" closing the $(( starting at start.</summary>
    private static int SkipArithmetic(string line, int start, string file, int lineNo)
    {
        var depth = 0;
        for (var j = start + 1; j < line.Length; j++)
        {
            if (line[j] == '(')
            {
                depth++;
            }
            else if (line[j] == ')')
            {
                depth--;
                if (depth == 0)
                {
                    return j + 1;
                }
            }
        }

        throw new ScriptException(file, lineNo, "unterminated '$(('");
    }
}
