using System.Globalization;

namespace Qcow2.Harness;

/// <summary>Evaluates shell arithmetic: integers (decimal, 0x hex, 0 octal), variables and C operators.</summary>
internal sealed class Arithmetic
{
    private readonly string _s;
    private readonly Func<string, string?> _lookup;
    private int _pos;

    private Arithmetic(string s, Func<string, string?> lookup)
    {
        _s = s;
        _lookup = lookup;
    }

    /// <summary>Evaluates expr; throws FormatException with a readable message on bad input.</summary>
    public static long Evaluate(string expr, Func<string, string?> lookup)
    {
        var a = new Arithmetic(expr, lookup);
        var v = a.Or();
        a.Skip();
        if (a._pos != a._s.Length)
        {
            throw new FormatException($"arithmetic: unexpected '{a._s[a._pos..]}' in '{expr}'");
        }

        return v;
    }

    /// <summary>Parses an integer literal the way the shell does (0x.. hex, 0.. octal).</summary>
    public static long ParseNumber(string text)
    {
        var t = text.Trim();
        var neg = t.StartsWith('-');
        if (neg || t.StartsWith('+'))
        {
            t = t[1..];
        }

        long v;
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && t.Length > 2)
        {
            v = long.Parse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }
        else if (t.Length > 1 && t[0] == '0' && t.All(char.IsAsciiDigit))
        {
            v = Convert.ToInt64(t, 8);
        }
        else if (t.Length > 0 && t.All(char.IsAsciiDigit))
        {
            v = long.Parse(t, CultureInfo.InvariantCulture);
        }
        else
        {
            throw new FormatException($"arithmetic: '{text}' is not a number");
        }

        return neg ? -v : v;
    }

    private void Skip()
    {
        while (_pos < _s.Length && char.IsWhiteSpace(_s[_pos]))
        {
            _pos++;
        }
    }

    private bool Eat(string op)
    {
        Skip();
        if (string.CompareOrdinal(_s, _pos, op, 0, op.Length) != 0)
        {
            return false;
        }

        // Do not take '|' from '||', '<' from '<<', and so on.
        if (op.Length == 1 && _pos + 1 < _s.Length && _s[_pos + 1] == op[0] && op is "|" or "&" or "<" or ">")
        {
            return false;
        }

        _pos += op.Length;
        return true;
    }

    private long Or()
    {
        var v = Xor();
        while (Eat("|"))
        {
            v |= Xor();
        }

        return v;
    }

    private long Xor()
    {
        var v = And();
        while (Eat("^"))
        {
            v ^= And();
        }

        return v;
    }

    private long And()
    {
        var v = Shift();
        while (Eat("&"))
        {
            v &= Shift();
        }

        return v;
    }

    private long Shift()
    {
        var v = Sum();
        while (true)
        {
            if (Eat("<<"))
            {
                v <<= (int)Sum();
            }
            else if (Eat(">>"))
            {
                v >>= (int)Sum();
            }
            else
            {
                return v;
            }
        }
    }

    private long Sum()
    {
        var v = Product();
        while (true)
        {
            if (Eat("+"))
            {
                v += Product();
            }
            else if (Eat("-"))
            {
                v -= Product();
            }
            else
            {
                return v;
            }
        }
    }

    private long Product()
    {
        var v = Unary();
        while (true)
        {
            if (Eat("*"))
            {
                v *= Unary();
            }
            else if (Eat("/"))
            {
                v /= NonZero(Unary());
            }
            else if (Eat("%"))
            {
                v %= NonZero(Unary());
            }
            else
            {
                return v;
            }
        }
    }

    private static long NonZero(long d) => d != 0 ? d : throw new FormatException("arithmetic: division by zero");

    private long Unary()
    {
        if (Eat("-"))
        {
            return -Unary();
        }

        if (Eat("+"))
        {
            return Unary();
        }

        if (Eat("~"))
        {
            return ~Unary();
        }

        if (Eat("!"))
        {
            return Unary() == 0 ? 1 : 0;
        }

        if (Eat("("))
        {
            var v = Or();
            if (!Eat(")"))
            {
                throw new FormatException($"arithmetic: missing ')' in '{_s}'");
            }

            return v;
        }

        Skip();
        var start = _pos;
        while (_pos < _s.Length && (char.IsAsciiLetterOrDigit(_s[_pos]) || _s[_pos] == '_'))
        {
            _pos++;
        }

        var token = _s[start.._pos];
        if (token.Length == 0)
        {
            throw new FormatException($"arithmetic: operand expected in '{_s}'");
        }

        if (char.IsAsciiDigit(token[0]))
        {
            return ParseNumber(token);
        }

        var value = _lookup(token);
        return string.IsNullOrWhiteSpace(value) ? 0 : Evaluate(value, _lookup);
    }
}
