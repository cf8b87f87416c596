namespace Qcow2.Harness;

/// <summary>
/// The <c>test</c> / <c>[ ... ]</c> builtin: string tests (<c>= == != -z -n</c>), integer comparisons
/// (<c>-eq -ne -lt -le -gt -ge</c>), file tests (<c>-e -f -d -s</c>), <c>!</c>, <c>-a</c>, <c>-o</c> and parentheses.
/// Status 0 is true, 1 false, 2 a usage error (with a message on stderr, as bash prints it).
/// </summary>
internal sealed class Conditions
{
    private static readonly HashSet<string> Unary = ["-z", "-n", "-e", "-f", "-d", "-s"];

    private static readonly HashSet<string> BinaryOps = ["=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge"];

    private readonly IReadOnlyList<string> _args;
    private readonly Func<string, string> _path;
    private int _pos;

    private Conditions(IReadOnlyList<string> args, Func<string, string> path)
    {
        _args = args;
        _path = path;
    }

    /// <summary>Runs <c>test ARGS</c> or <c>[ ARGS ]</c> (name is "test" or "["); path resolves file names.</summary>
    public static ToolRun Run(string name, IReadOnlyList<string> args, Func<string, string> path)
    {
        if (name == "[")
        {
            if (args.Count == 0 || args[^1] != "]")
            {
                return Fail("[: missing `]'");
            }

            args = args.Take(args.Count - 1).ToList();
        }

        try
        {
            var c = new Conditions(args, path);
            if (args.Count == 0)
            {
                return Status(false);
            }

            var result = c.Or();
            return c._pos == args.Count ? Status(result) : Fail($"{name}: too many arguments");
        }
        catch (FormatException e)
        {
            return Fail($"{name}: {e.Message}");
        }
    }

    private static ToolRun Status(bool value) => new(value ? 0 : 1, []);

    private static ToolRun Fail(string message) => new(2, [new OutputChunk(true, message + "\n")]);

    private string? Peek(int ahead = 0) => _pos + ahead < _args.Count ? _args[_pos + ahead] : null;

    private bool Or()
    {
        var v = And();
        while (Peek() == "-o")
        {
            _pos++;
            v = And() | v;
        }

        return v;
    }

    private bool And()
    {
        var v = Negation();
        while (Peek() == "-a")
        {
            _pos++;
            v = Negation() & v;
        }

        return v;
    }

    private bool Negation()
    {
        if (Peek() == "!" && Peek(1) is not null)
        {
            _pos++;
            return !Negation();
        }

        return Primary();
    }

    private bool Primary()
    {
        var a = Peek() ?? throw new FormatException("argument expected");
        if (Peek(1) is { } op && BinaryOps.Contains(op) && Peek(2) is { } b)
        {
            _pos += 3;
            return Compare(a, op, b);
        }

        if (a == "(" && Peek(1) is not null)
        {
            _pos++;
            var v = Or();
            if (Peek() != ")")
            {
                throw new FormatException("`)' expected");
            }

            _pos++;
            return v;
        }

        if (Unary.Contains(a) && Peek(1) is { } operand)
        {
            _pos += 2;
            return a switch
            {
                "-z" => operand.Length == 0,
                "-n" => operand.Length != 0,
                "-e" => File.Exists(_path(operand)) || Directory.Exists(_path(operand)),
                "-f" => File.Exists(_path(operand)),
                "-d" => Directory.Exists(_path(operand)),
                _ => File.Exists(_path(operand)) && new FileInfo(_path(operand)).Length > 0,
            };
        }

        _pos++;
        return a.Length != 0;
    }

    private static bool Compare(string a, string op, string b)
    {
        if (op is "=" or "==" or "!=")
        {
            return (a == b) == (op != "!=");
        }

        var c = Integer(a).CompareTo(Integer(b));
        return op switch
        {
            "-eq" => c == 0,
            "-ne" => c != 0,
            "-lt" => c < 0,
            "-le" => c <= 0,
            "-gt" => c > 0,
            _ => c >= 0,
        };
    }

    private static long Integer(string s) =>
        long.TryParse(s.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new FormatException($"{s}: integer expression expected");
}
