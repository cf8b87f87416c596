using System.Globalization;
using System.Text;

namespace Qcow2.Harness;

/// <summary>
/// Expands raw words: quotes, backslashes, <c>$VAR</c>, <c>${VAR}</c>, <c>$?</c>, <c>${PIPESTATUS[N]}</c>,
/// positional parameters (<c>$1</c>..<c>$9</c>, <c>$#</c>, <c>$@</c>, <c>$*</c>) and <c>$((arith))</c>.
/// </summary>
internal sealed class Expander(Func<string, string?> lookup, IReadOnlyList<string>? positional = null, Action<string, string>? assign = null)
{
    /// <summary>
    /// Expands a word to the arguments it gives: none or one, or, for <c>"$@"</c> (or <c>$@</c>) alone,
    /// one per positional parameter.
    /// </summary>
    public IEnumerable<string> ExpandArgs(string raw) =>
        raw is "\"$@\"" or "$@" ? positional ?? [] : ExpandWord(raw) is { } w ? [w] : [];

    /// <summary>Expands a word to a single argument; null when an unquoted expansion came out empty (the word vanishes).</summary>
    public string? ExpandWord(string raw)
    {
        var sb = new StringBuilder();
        var quoted = false;
        var i = 0;
        while (i < raw.Length)
        {
            var c = raw[i];
            if (c == '\'')
            {
                var end = raw.IndexOf('\'', i + 1);
                sb.Append(raw, i + 1, end - i - 1);
                i = end + 1;
                quoted = true;
            }
            else if (c == '"')
            {
                quoted = true;
                i++;
                while (raw[i] != '"')
                {
                    if (raw[i] == '\\' && i + 1 < raw.Length && raw[i + 1] is '$' or '"' or '\\' or '`')
                    {
                        sb.Append(raw[i + 1]);
                        i += 2;
                    }
                    else if (raw[i] == '$')
                    {
                        i = ExpandDollar(raw, i, sb);
                    }
                    else
                    {
                        sb.Append(raw[i++]);
                    }
                }

                i++;
            }
            else if (c == '\\')
            {
                quoted = true;
                if (i + 1 < raw.Length)
                {
                    sb.Append(raw[i + 1]);
                }

                i += 2;
            }
            else if (c == '$')
            {
                i = ExpandDollar(raw, i, sb);
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.Length == 0 && !quoted ? null : sb.ToString();
    }

    /// <summary>Expands $-forms in here-document text (no quote removal).</summary>
    public string ExpandHeredoc(string text)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '$' or '\\' or '`')
            {
                sb.Append(text[i + 1]);
                i += 2;
            }
            else if (text[i] == '$')
            {
                i = ExpandDollar(text, i, sb);
            }
            else
            {
                sb.Append(text[i++]);
            }
        }

        return sb.ToString();
    }

    private int ExpandDollar(string s, int i, StringBuilder sb)
    {
        if (i + 2 < s.Length && s[i + 1] == '(' && s[i + 2] == '(')
        {
            var depth = 0;
            var j = i + 1;
            for (; j < s.Length; j++)
            {
                if (s[j] == '(')
                {
                    depth++;
                }
                else if (s[j] == ')' && --depth == 0)
                {
                    break;
                }
            }

            var inner = s[(i + 3)..(j - 1)];
            sb.Append(Arithmetic.Evaluate(ExpandHeredoc(inner), lookup, assign).ToString(CultureInfo.InvariantCulture));
            return j + 1;
        }

        if (i + 1 < s.Length && s[i + 1] == '{')
        {
            var end = s.IndexOf('}', i);
            sb.Append(lookup(s[(i + 2)..end]) ?? "");
            return end + 1;
        }

        if (i + 1 < s.Length && s[i + 1] is '?' or '#' or '@' or '*' or (>= '1' and <= '9'))
        {
            sb.Append(lookup(s[i + 1].ToString()) ?? "");
            return i + 2;
        }

        var k = i + 1;
        while (k < s.Length && (char.IsAsciiLetterOrDigit(s[k]) || s[k] == '_'))
        {
            k++;
        }

        if (k == i + 1)
        {
            sb.Append('$');
            return i + 1;
        }

        sb.Append(lookup(s[(i + 1)..k]) ?? "");
        return k;
    }
}
