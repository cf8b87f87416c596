namespace Qcow2.Tools.Qio;

/// <summary>A long option for <see cref="GetOpt"/>: its name, whether it takes an argument, and the value it returns.</summary>
internal sealed record LongOption(string Name, bool HasArgument, int Value);

/// <summary>
/// glibc getopt/getopt_long in its default (permuting) mode: options are returned in order, non-option arguments
/// are collected into <see cref="Operands"/>, "--" ends option parsing, and errors are printed as glibc prints them.
/// </summary>
internal sealed class GetOpt
{
    private readonly string _program;
    private readonly IReadOnlyList<string> _args;
    private readonly string _shortOptions;
    private readonly IReadOnlyList<LongOption> _longOptions;
    private readonly TextWriter _err;
    private int _index = 1;
    private int _charIndex;
    private bool _optionsEnded;

    /// <summary>Creates a parser over args (args[0] is the program or command name used in error messages).</summary>
    public GetOpt(IReadOnlyList<string> args, string shortOptions, TextWriter err, IReadOnlyList<LongOption>? longOptions = null, string? program = null)
    {
        _args = args;
        _shortOptions = shortOptions;
        _err = err;
        _longOptions = longOptions ?? [];
        _program = program ?? args[0];
    }

    /// <summary>Non-option arguments seen so far, in order (complete once <see cref="Next"/> returned -1).</summary>
    public List<string> Operands { get; } = [];

    /// <summary>The argument of the option last returned.</summary>
    public string? OptArg { get; private set; }

    /// <summary>Returns the next option character (or long option value), '?' after an error, -1 at the end.</summary>
    public int Next()
    {
        OptArg = null;
        while (_charIndex == 0)
        {
            if (_index >= _args.Count)
            {
                return -1;
            }
            string a = _args[_index];
            if (_optionsEnded || a.Length < 2 || a[0] != '-')
            {
                Operands.Add(a);
                _index++;
                continue;
            }
            if (a == "--")
            {
                _optionsEnded = true;
                _index++;
                continue;
            }
            if (a.StartsWith("--", StringComparison.Ordinal) && _longOptions.Count > 0)
            {
                _index++;
                return ParseLong(a[2..]);
            }
            _charIndex = 1;
        }

        string arg = _args[_index];
        char c = arg[_charIndex++];
        bool last = _charIndex >= arg.Length;
        int pos = c == ':' ? -1 : _shortOptions.IndexOf(c);
        if (pos < 0)
        {
            Advance(last);
            _err.WriteLine($"{_program}: invalid option -- '{c}'");
            return '?';
        }
        bool takesArg = pos + 1 < _shortOptions.Length && _shortOptions[pos + 1] == ':';
        if (!takesArg)
        {
            Advance(last);
            return c;
        }
        if (!last)
        {
            OptArg = arg[_charIndex..];
            Advance(true);
            return c;
        }
        Advance(true);
        if (_index >= _args.Count)
        {
            _err.WriteLine($"{_program}: option requires an argument -- '{c}'");
            return '?';
        }
        OptArg = _args[_index++];
        return c;
    }

    private void Advance(bool tokenDone)
    {
        if (tokenDone)
        {
            _index++;
            _charIndex = 0;
        }
    }

    private int ParseLong(string text)
    {
        int eq = text.IndexOf('=');
        string name = eq < 0 ? text : text[..eq];
        var exact = _longOptions.FirstOrDefault(o => o.Name == name);
        var matches = exact is not null ? [exact] : _longOptions.Where(o => o.Name.StartsWith(name, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0)
        {
            _err.WriteLine($"{_program}: unrecognized option '--{name}'");
            return '?';
        }
        if (matches.Count > 1)
        {
            string list = string.Join(" ", matches.Select(m => $"'--{m.Name}'"));
            _err.WriteLine($"{_program}: option '--{name}' is ambiguous; possibilities: {list}");
            return '?';
        }
        var opt = matches[0];
        if (!opt.HasArgument)
        {
            if (eq >= 0)
            {
                _err.WriteLine($"{_program}: option '--{opt.Name}' doesn't allow an argument");
                return '?';
            }
            return opt.Value;
        }
        if (eq >= 0)
        {
            OptArg = text[(eq + 1)..];
            return opt.Value;
        }
        if (_index >= _args.Count)
        {
            _err.WriteLine($"{_program}: option '--{opt.Name}' requires an argument");
            return '?';
        }
        OptArg = _args[_index++];
        return opt.Value;
    }
}
