using System.Globalization;

namespace Qcow2.Harness;

/// <summary>
/// Evaluates shell arithmetic: integers (decimal, 0x hex, 0 octal), variables, C operators with C precedence
/// (comparisons, <c>&amp;&amp;</c>/<c>||</c> with short-circuit, <c>?:</c>), assignments (<c>=</c>, <c>+=</c> ...)
/// and <c>++</c>/<c>--</c>.
/// </summary>
internal sealed class Arithmetic
{
    private static readonly string[] AssignOps = ["<<=", ">>=", "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", "="];

    private readonly string _s;
    private readonly Func<string, string?> _lookup;
    private readonly Action<string, string>? _assign;
    private int _pos;

    // Inside the branch that short-circuit evaluation skips: no assignments, no division errors.
    private int _skipping;

    private Arithmetic(string s, Func<string, string?> lookup, Action<string, string>? assign)
    {
        _s = s;
        _lookup = lookup;
        _assign = assign;
    }

    /// <summary>Evaluates expr; assignments go through assign. Throws FormatException with a readable message on bad input.</summary>
    public static long Evaluate(string expr, Func<string, string?> lookup, Action<string, string>? assign = null)
    {
        var a = new Arithmetic(expr, lookup, assign);
        var v = a.Comma();
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

        var next = _pos + op.Length < _s.Length ? _s[_pos + op.Length] : '\0';
        // Do not take '|' from '||', '<' from '<<' or '<=', '=' from '==', '+' from '++' or '+=', and so on.
        var longer = op switch
        {
            "|" or "&" or "+" or "-" => next == op[0] || next == '=',
            "<" or ">" => next == op[0] || next == '=',
            "<<" or ">>" or "*" or "/" or "%" or "^" or "!" or "=" => next == '=',
            _ => false,
        };
        if (longer)
        {
            return false;
        }

        _pos += op.Length;
        return true;
    }

    private long Comma()
    {
        var v = Assign();
        while (Eat(","))
        {
            v = Assign();
        }

        return v;
    }

    private long Assign()
    {
        Skip();
        var save = _pos;
        var name = Name();
        if (name.Length > 0 && !char.IsAsciiDigit(name[0]))
        {
            foreach (var op in AssignOps)
            {
                if (Eat(op))
                {
                    var rhs = Assign();
                    var v = op == "=" ? rhs : Binary(op[..^1], Variable(name), rhs);
                    return Store(name, v);
                }
            }
        }

        _pos = save;
        return Conditional();
    }

    private long Conditional()
    {
        var c = LogicalOr();
        if (!Eat("?"))
        {
            return c;
        }

        var a = Skipped(c == 0, Assign);
        if (!Eat(":"))
        {
            throw new FormatException($"arithmetic: ':' expected in '{_s}'");
        }

        var b = Skipped(c != 0, Conditional);
        return c != 0 ? a : b;
    }

    private long Skipped(bool skip, Func<long> parse)
    {
        _skipping += skip ? 1 : 0;
        try
        {
            return parse();
        }
        finally
        {
            _skipping -= skip ? 1 : 0;
        }
    }

    private long LogicalOr()
    {
        var v = LogicalAnd();
        while (Eat("||"))
        {
            var r = Skipped(v != 0, LogicalAnd);
            v = v != 0 || r != 0 ? 1 : 0;
        }

        return v;
    }

    private long LogicalAnd()
    {
        var v = Or();
        while (Eat("&&"))
        {
            var r = Skipped(v == 0, Or);
            v = v != 0 && r != 0 ? 1 : 0;
        }

        return v;
    }

    // The binary operator levels above && and ||, loosest first (C precedence); at each level the longer operators come first.
    private static readonly string[][] Levels =
        [["|"], ["^"], ["&"], ["==", "!="], ["<=", ">=", "<", ">"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]];

    private long Or() => Level(0);

    private long Level(int k)
    {
        if (k == Levels.Length)
        {
            return Unary();
        }

        var v = Level(k + 1);
        while (Array.Find(Levels[k], Eat) is { } op)
        {
            v = Binary(op, v, Level(k + 1));
        }

        return v;
    }

    private long Binary(string op, long a, long b) => op switch
    {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b,
        "/" => _skipping > 0 && b == 0 ? 0 : a / NonZero(b),
        "%" => _skipping > 0 && b == 0 ? 0 : a % NonZero(b),
        "<<" => a << (int)b,
        ">>" => a >> (int)b,
        "&" => a & b,
        "^" => a ^ b,
        "==" => a == b ? 1 : 0,
        "!=" => a != b ? 1 : 0,
        "<" => a < b ? 1 : 0,
        "<=" => a <= b ? 1 : 0,
        ">" => a > b ? 1 : 0,
        ">=" => a >= b ? 1 : 0,
        _ => a | b,
    };

    private string Name()
    {
        Skip();
        var start = _pos;
        while (_pos < _s.Length && (char.IsAsciiLetterOrDigit(_s[_pos]) || _s[_pos] == '_'))
        {
            _pos++;
        }

        return _s[start.._pos];
    }

    private long Variable(string name)
    {
        var value = _lookup(name);
        return string.IsNullOrWhiteSpace(value) ? 0 : Evaluate(value, _lookup);
    }

    private long Store(string name, long v)
    {
        if (_skipping == 0)
        {
            if (_assign is null || name.Length == 0 || char.IsAsciiDigit(name[0]))
            {
                throw new FormatException($"arithmetic: cannot assign to '{name}' in '{_s}'");
            }

            _assign(name, v.ToString(CultureInfo.InvariantCulture));
        }

        return v;
    }

    private static long NonZero(long d) => d != 0 ? d : throw new FormatException("arithmetic: division by zero");

    private long Unary()
    {
        foreach (var step in new[] { "++", "--" })
        {
            Skip();
            if (string.CompareOrdinal(_s, _pos, step, 0, 2) == 0)
            {
                _pos += 2;
                var name = Name();
                return Store(name, Variable(name) + (step == "++" ? 1 : -1));
            }
        }

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
            var v = Comma();
            if (!Eat(")"))
            {
                throw new FormatException($"arithmetic: missing ')' in '{_s}'");
            }

            return v;
        }

        var token = Name();
        if (token.Length == 0)
        {
            throw new FormatException($"arithmetic: operand expected in '{_s}'");
        }

        if (char.IsAsciiDigit(token[0]))
        {
            return ParseNumber(token);
        }

        var value = Variable(token);
        foreach (var step in new[] { "++", "--" })
        {
            Skip();
            if (string.CompareOrdinal(_s, _pos, step, 0, 2) == 0)
            {
                _pos += 2;
                Store(token, value + (step == "++" ? 1 : -1));
                return value;
            }
        }

        return value;
    }
}
