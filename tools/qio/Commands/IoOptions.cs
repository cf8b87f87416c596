namespace Qcow2.Tools.Qio.Commands;

/// <summary>
/// The option loop of qemu-io's I/O commands, once: getopt over the command's options, with the ones that mean the
/// same in every command handled here (-C machine-readable timing, -q quiet, -v verbose, -P pattern byte).
/// </summary>
internal sealed class IoOptions
{
    /// <summary>Returned by <see cref="Next"/> after -P named a bad pattern byte (its error is printed); the command returns -EINVAL.</summary>
    public const int BadPattern = -2;

    private readonly GetOpt _getopt;
    private readonly QioSession _session;

    /// <summary>Scans argv (argv[0] is the command name) with the command's option string; pattern is the byte used without -P.</summary>
    public IoOptions(QioSession s, string[] argv, string optString, int pattern = 0)
    {
        _getopt = new GetOpt(argv, optString, s.Err);
        _session = s;
        Pattern = pattern;
    }

    /// <summary>The argument of the option last returned.</summary>
    public string? OptArg => _getopt.OptArg;

    /// <summary>The operands; complete once <see cref="Next"/> has returned -1.</summary>
    public IReadOnlyList<string> Operands => _getopt.Operands;

    /// <summary>-C.</summary>
    public bool Machine { get; private set; }

    /// <summary>-q.</summary>
    public bool Quiet { get; private set; }

    /// <summary>-v.</summary>
    public bool Verbose { get; private set; }

    /// <summary>Whether -P was given.</summary>
    public bool PatternGiven { get; private set; }

    /// <summary>The pattern byte (-P, or the command's default).</summary>
    public int Pattern { get; private set; }

    /// <summary>The next option the command handles itself; -1 at the end, <see cref="BadPattern"/> after a bad -P.</summary>
    public int Next()
    {
        while (true)
        {
            int c = _getopt.Next();
            switch (c)
            {
                case 'C':
                    Machine = true;
                    break;
                case 'q':
                    Quiet = true;
                    break;
                case 'v':
                    Verbose = true;
                    break;
                case 'P':
                    PatternGiven = true;
                    int? pattern = Numbers.ParsePattern(_getopt.OptArg!, _session.Out);
                    if (pattern is null)
                    {
                        return BadPattern;
                    }
                    Pattern = pattern.Value;
                    break;
                default:
                    return c;
            }
        }
    }
}
