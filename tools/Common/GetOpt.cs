namespace Qcow2.Cli;

/// <summary>Whether a long option takes an argument.</summary>
public enum ArgKind
{
    /// <summary>The option takes no argument.</summary>
    None,

    /// <summary>The option requires an argument (`--name=value` or `--name value`).</summary>
    Required,
}

/// <summary>A long option: its name, whether it takes an argument, and the code <see cref="GetOpt.Next"/> returns for it.</summary>
public sealed record LongOption(string Name, ArgKind Kind, int Code);

/// <summary>
/// glibc 2.36's getopt and getopt_long (posix/getopt.c), the one copy every tool uses. Arguments are permuted as glibc
/// permutes argv (non-options move behind the options, so <see cref="ErrorText"/>, argv[optind - 1], names what
/// glibc's caller would name); a leading '+' stops at the first non-option; a leading ':' (or no error writer) keeps
/// getopt quiet, otherwise it prints glibc's messages with <c>args[0]</c> as the program name. "--" ends the options,
/// and long options may be abbreviated to a prefix that names one option (or several identical ones).
/// </summary>
public sealed class GetOpt
{
    /// <summary>Returned for an option whose required argument is missing (when the option string starts with ':').</summary>
    public const int MissingArgument = ':';

    /// <summary>Returned for an unknown or ambiguous option, an argument given to a long option that takes none, and a missing argument without ':'.</summary>
    public const int Unrecognized = '?';

    private readonly string[] _argv;
    private readonly string _optString;
    private readonly bool _requireOrder;
    private readonly bool _colon;
    private readonly IReadOnlyList<LongOption>? _longs;
    private readonly TextWriter? _err;
    private readonly string _program;
    private int _optind = 1;
    private int _firstNonopt = 1;
    private int _lastNonopt = 1;
    private string _next = "";
    private int _nextPos;

    /// <summary>A getopt_long parser that does not print (qemu-img's option strings start with ':').</summary>
    public GetOpt(IReadOnlyList<string> args, string optString, IReadOnlyList<LongOption> longOptions)
        : this(args, optString, null, longOptions)
    {
    }

    /// <summary>A parser over args (args[0] is the program or command name, as argv[0] in C); err receives glibc's messages.</summary>
    public GetOpt(IReadOnlyList<string> args, string optString, TextWriter? err, IReadOnlyList<LongOption>? longOptions = null, string? program = null)
    {
        _argv = [.. args];
        if (optString.StartsWith('+'))
        {
            _requireOrder = true;
            optString = optString[1..];
        }
        else if (optString.StartsWith('-'))
        {
            throw new ArgumentOutOfRangeException(nameof(optString), optString, "RETURN_IN_ORDER is not supported");
        }
        _colon = optString.StartsWith(':');
        _optString = optString;
        _longs = longOptions;
        _err = _colon ? null : err;
        _program = program ?? (_argv.Length > 0 ? _argv[0] : "");
    }

    /// <summary>The argument of the option last returned, or null.</summary>
    public string? OptArg { get; private set; }

    /// <summary>glibc's optopt: the option character (or long option code) of the last error, 0 for an unknown long option.</summary>
    public int OptOpt { get; private set; }

    /// <summary>glibc's optind: the index in <see cref="Argv"/> of the next element to scan (after -1, of the first operand).</summary>
    public int OptInd => _optind;

    /// <summary>The arguments as glibc has permuted them so far.</summary>
    public IReadOnlyList<string> Argv => _argv;

    /// <summary>What qemu-img names in its error message after ':' or '?': argv[optind - 1].</summary>
    public string ErrorText => _argv[Math.Max(0, _optind - 1)];

    /// <summary>The non-option arguments in order: argv[optind..]; complete once <see cref="Next"/> has returned -1.</summary>
    public IReadOnlyList<string> Operands => _argv[Math.Min(_optind, _argv.Length)..];

    /// <summary>The next option's code (a short option letter or a long option's code); -1 when options are exhausted.</summary>
    public int Next()
    {
        OptArg = null;
        if (_argv.Length < 1)
        {
            return -1;
        }
        if (_nextPos >= _next.Length)
        {
            int code = AdvanceToNextElement();
            if (code != 0)
            {
                return code;
            }
        }
        return NextShort();
    }

    private bool NonOption(int i) => _argv[i].Length < 2 || _argv[i][0] != '-';

    /// <summary>Moves to the next option element, permuting as glibc does; returns -1 at the end, a long option's result, or 0 to scan short options.</summary>
    private int AdvanceToNextElement()
    {
        int argc = _argv.Length;
        _lastNonopt = Math.Min(_lastNonopt, _optind);
        _firstNonopt = Math.Min(_firstNonopt, _optind);
        if (!_requireOrder)
        {
            if (_firstNonopt != _lastNonopt && _lastNonopt != _optind)
            {
                Exchange();
            }
            else if (_lastNonopt != _optind)
            {
                _firstNonopt = _optind;
            }
            while (_optind < argc && NonOption(_optind))
            {
                _optind++;
            }
            _lastNonopt = _optind;
        }
        if (_optind != argc && _argv[_optind] == "--")
        {
            _optind++;
            if (_firstNonopt != _lastNonopt && _lastNonopt != _optind)
            {
                Exchange();
            }
            else if (_firstNonopt == _lastNonopt)
            {
                _firstNonopt = _optind;
            }
            _lastNonopt = argc;
            _optind = argc;
        }
        if (_optind == argc)
        {
            if (_firstNonopt != _lastNonopt)
            {
                _optind = _firstNonopt;
            }
            return -1;
        }
        if (NonOption(_optind))
        {
            // Only reached in REQUIRE_ORDER ('+'): stop at the first non-option.
            return -1;
        }
        if (_longs is not null && _argv[_optind][1] == '-')
        {
            return LongOption(_argv[_optind][2..]);
        }
        _next = _argv[_optind];
        _nextPos = 1;
        return 0;
    }

    /// <summary>glibc's exchange: swaps the skipped non-options [first_nonopt, last_nonopt) with the options after them.</summary>
    private void Exchange()
    {
        int bottom = _firstNonopt;
        int middle = _lastNonopt;
        int top = _optind;
        string[] moved = [.. _argv[middle..top], .. _argv[bottom..middle]];
        moved.CopyTo(_argv, bottom);
        _firstNonopt += _optind - _lastNonopt;
        _lastNonopt = _optind;
    }

    private int NextShort()
    {
        char c = _next[_nextPos++];
        bool last = _nextPos >= _next.Length;
        if (last)
        {
            _optind++;
        }
        int at = _optString.IndexOf(c, _colon ? 1 : 0);
        if (at < 0 || c == ':' || c == ';')
        {
            _err?.Write($"{_program}: invalid option -- '{c}'\n");
            OptOpt = c;
            return Unrecognized;
        }
        if (at + 1 >= _optString.Length || _optString[at + 1] != ':')
        {
            return c;
        }
        if (!last)
        {
            OptArg = _next[_nextPos..];
            _optind++;
        }
        else if (_optind == _argv.Length)
        {
            _err?.Write($"{_program}: option requires an argument -- '{c}'\n");
            OptOpt = c;
            c = _colon ? (char)MissingArgument : (char)Unrecognized;
        }
        else
        {
            OptArg = _argv[_optind++];
        }
        _nextPos = _next.Length;
        return c;
    }

    /// <summary>glibc's process_long_option for "--" + text (exact match first, then an unambiguous prefix).</summary>
    private int LongOption(string text)
    {
        int eq = text.IndexOf('=');
        string name = eq < 0 ? text : text[..eq];
        IReadOnlyList<LongOption> longs = _longs!;
        LongOption? found = longs.FirstOrDefault(o => o.Name == name);
        if (found is null)
        {
            var candidates = longs.Where(o => o.Name.StartsWith(name, StringComparison.Ordinal)).ToList();
            var differing = candidates.Skip(1).Where(o => o.Kind != candidates[0].Kind || o.Code != candidates[0].Code).ToList();
            if (differing.Count > 0)
            {
                // glibc lists the first candidate and every later one that differs from it, in declaration order.
                string all = string.Concat(candidates.Take(1).Concat(differing).Select(o => $" '--{o.Name}'"));
                _err?.Write($"{_program}: option '--{text}' is ambiguous; possibilities:{all}\n");
                _optind++;
                OptOpt = 0;
                return Unrecognized;
            }
            found = candidates.FirstOrDefault();
        }
        if (found is null)
        {
            _err?.Write($"{_program}: unrecognized option '--{text}'\n");
            _optind++;
            OptOpt = 0;
            return Unrecognized;
        }
        _optind++;
        if (eq >= 0)
        {
            if (found.Kind == ArgKind.None)
            {
                _err?.Write($"{_program}: option '--{found.Name}' doesn't allow an argument\n");
                OptOpt = found.Code;
                return Unrecognized;
            }
            OptArg = text[(eq + 1)..];
        }
        else if (found.Kind == ArgKind.Required)
        {
            if (_optind >= _argv.Length)
            {
                _err?.Write($"{_program}: option '--{found.Name}' requires an argument\n");
                OptOpt = found.Code;
                return _colon ? MissingArgument : Unrecognized;
            }
            OptArg = _argv[_optind++];
        }
        return found.Code;
    }
}
