namespace Qcow2.Tools.Qimg;

/// <summary>Whether a long option takes an argument.</summary>
public enum ArgKind
{
    /// <summary>The option takes no argument.</summary>
    None,

    /// <summary>The option requires an argument (`--name=value` or `--name value`).</summary>
    Required,
}

/// <summary>A long option: its name, whether it takes an argument, and the code Next returns for it.</summary>
public sealed record LongOption(string Name, ArgKind Kind, int Code);

/// <summary>
/// glibc getopt_long as qemu-img uses it: an option string starting with ':' (so errors come back as ':' or '?'
/// instead of being printed), argument permutation unless the string starts with '+', `--` ending the options,
/// and long options that may be abbreviated to an unambiguous prefix.
/// </summary>
public sealed class GetOpt
{
    /// <summary>Returned for an option whose required argument is missing.</summary>
    public const int MissingArgument = ':';

    /// <summary>Returned for an unknown or ambiguous option, or an argument given to a long option that takes none.</summary>
    public const int Unrecognized = '?';

    private readonly string[] _args;
    private readonly bool _permute;
    private readonly Dictionary<char, bool> _shorts = [];
    private readonly IReadOnlyList<LongOption> _longs;
    private readonly List<string> _operands = [];
    private readonly List<string> _consumed = [];
    private int _index;
    private int _charPos;
    private bool _done;

    /// <summary>Scans args from index 1 (args[0] is the command name, as argv[0] is in C).</summary>
    public GetOpt(string[] args, string shortOptions, IReadOnlyList<LongOption> longOptions)
    {
        _args = args;
        _index = 1;
        string spec = shortOptions;
        _permute = true;
        if (spec.StartsWith('+'))
        {
            _permute = false;
            spec = spec[1..];
        }
        if (spec.StartsWith(':'))
        {
            spec = spec[1..];
        }
        for (int i = 0; i < spec.Length; i++)
        {
            bool takesArg = i + 1 < spec.Length && spec[i + 1] == ':';
            _shorts[spec[i]] = takesArg;
            if (takesArg)
            {
                i++;
            }
        }
        _longs = longOptions;
        _consumed.Add(args.Length > 0 ? args[0] : "");
    }

    /// <summary>The argument of the option last returned, or null.</summary>
    public string? OptArg { get; private set; }

    /// <summary>What qemu-img names in its error message (argv[optind - 1]) after ':' or '?'.</summary>
    public string ErrorText { get; private set; } = "";

    /// <summary>The non-option arguments in order; complete once Next has returned -1.</summary>
    public IReadOnlyList<string> Operands => _operands;

    /// <summary>
    /// Next(), with qemu-img's reaction to a bad option built in: a missing argument or an unrecognized option throws
    /// the usage error qemu-img prints (with its "Try ... --help" line). Short options must start with ':'.
    /// </summary>
    public int NextOption()
    {
        int c = Next();
        return c switch
        {
            MissingArgument => throw new QimgUsageException($"missing argument for option '{ErrorText}'"),
            Unrecognized => throw new QimgUsageException($"unrecognized option '{ErrorText}'"),
            _ => c,
        };
    }

    /// <summary>The next option's code (a short option letter or a long option's code); -1 when options are exhausted.</summary>
    public int Next()
    {
        OptArg = null;
        if (_charPos > 0)
        {
            return NextShort();
        }
        while (!_done && _index < _args.Length)
        {
            string a = _args[_index];
            if (a == "--")
            {
                _index++;
                _done = true;
                break;
            }
            if (a.Length < 2 || a[0] != '-')
            {
                if (!_permute)
                {
                    _done = true;
                    break;
                }
                _operands.Add(a);
                _index++;
                continue;
            }
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                return NextLong(a);
            }
            _charPos = 1;
            return NextShort();
        }
        _done = true;
        for (; _index < _args.Length; _index++)
        {
            _operands.Add(_args[_index]);
        }
        return -1;
    }

    private int NextShort()
    {
        string a = _args[_index];
        char c = a[_charPos++];
        bool last = _charPos >= a.Length;
        if (last)
        {
            Advance(a);
        }
        if (c == ':' || !_shorts.TryGetValue(c, out bool takesArg))
        {
            ErrorText = _consumed[^1];
            return Unrecognized;
        }
        if (!takesArg)
        {
            return c;
        }
        if (!last)
        {
            OptArg = a[_charPos..];
            Advance(a);
            return c;
        }
        if (_index >= _args.Length)
        {
            ErrorText = a;
            return MissingArgument;
        }
        OptArg = _args[_index];
        Advance(OptArg);
        return c;
    }

    private void Advance(string consumedArg)
    {
        _consumed.Add(consumedArg);
        _index++;
        _charPos = 0;
    }

    private int NextLong(string a)
    {
        Advance(a);
        string body = a[2..];
        int eq = body.IndexOf('=');
        string name = eq >= 0 ? body[..eq] : body;
        string? value = eq >= 0 ? body[(eq + 1)..] : null;
        ErrorText = a;
        LongOption? match = _longs.FirstOrDefault(l => l.Name == name);
        if (match is null)
        {
            var candidates = _longs.Where(l => l.Name.StartsWith(name, StringComparison.Ordinal)).ToList();
            bool allSame = candidates.Count > 0 && candidates.All(l => l.Kind == candidates[0].Kind && l.Code == candidates[0].Code);
            if (name.Length == 0 || !allSame)
            {
                return Unrecognized;
            }
            match = candidates[0];
        }
        if (match.Kind == ArgKind.None)
        {
            return value is null ? match.Code : Unrecognized;
        }
        if (value is null)
        {
            if (_index >= _args.Length)
            {
                return MissingArgument;
            }
            value = _args[_index];
            Advance(value);
        }
        OptArg = value;
        return match.Code;
    }
}
