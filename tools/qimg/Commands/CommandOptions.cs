namespace Qcow2.Tools.Qimg;

/// <summary>
/// The command-line loop every qemu-img command writes, once: getopt over the command's options, with the options
/// that mean the same in every command handled here (-h and --help print the help and end the command, --object
/// creates secret objects, --image-opts, -U/--force-share, -f/--format, -q and -p are recorded; --output, -t, -T, -b and -F are
/// recorded and still returned, for a command that acts on them at once), and bad options turned into
/// qemu-img's usage errors (or, for an option string without ':', into its help, as measure does).
/// </summary>
public sealed class CommandOptions
{
    /// <summary>--help.</summary>
    public static readonly LongOption Help = new("help", ArgKind.None, 'h');

    /// <summary>--object (secret objects; other types refused).</summary>
    public static readonly LongOption Object = new("object", ArgKind.Required, OptionCode.Object);

    /// <summary>--image-opts.</summary>
    public static readonly LongOption ImageOptsOption = new("image-opts", ArgKind.None, OptionCode.ImageOpts);

    /// <summary>--force-share, the long form of -U.</summary>
    public static readonly LongOption ForceShareOption = new("force-share", ArgKind.None, 'U');

    /// <summary>--format, the long form of -f.</summary>
    public static readonly LongOption FormatOption = new("format", ArgKind.Required, 'f');

    /// <summary>--output=human|json.</summary>
    public static readonly LongOption OutputOption = new("output", ArgKind.Required, OptionCode.Output);

    /// <summary>The long options most commands start with, in QEMU's order: --help, --object, --image-opts.</summary>
    public static readonly IReadOnlyList<LongOption> Common = [Help, Object, ImageOptsOption];

    /// <summary><see cref="Common"/> followed by --force-share.</summary>
    public static readonly IReadOnlyList<LongOption> CommonAndForceShare = [.. Common, ForceShareOption];

    private readonly GetOpt _getopt;
    private readonly ToolContext _ctx;
    private readonly bool _quietGetopt;
    private readonly Dictionary<int, string> _recorded = [];

    /// <summary>Scans args (args[0] is the command name) with the command's short and long options, in QEMU's order.</summary>
    public CommandOptions(string[] args, string shortOptions, IReadOnlyList<LongOption> longOptions, ToolContext ctx)
    {
        _quietGetopt = shortOptions.StartsWith(':');
        _getopt = new GetOpt(args, shortOptions, ctx.Err, longOptions);
        _ctx = ctx;
    }

    /// <summary>The argument of the option last returned.</summary>
    public string? OptArg => _getopt.OptArg;

    /// <summary>The operands; complete once <see cref="Next"/> has returned -1.</summary>
    public IReadOnlyList<string> Operands => _getopt.Operands;

    /// <summary>-f: the image format, or null.</summary>
    public string? Format { get; private set; }

    /// <summary>-q.</summary>
    public bool Quiet { get; private set; }

    /// <summary>-p.</summary>
    public bool Progress { get; private set; }

    /// <summary>Whether to show a progress bar: -p without -q (-q wins in every qemu-img command).</summary>
    public bool ShowProgress => Progress && !Quiet;

    /// <summary>--image-opts.</summary>
    public bool ImageOpts { get; private set; }

    /// <summary>--output: the output format asked for, or null.</summary>
    public string? Output => Recorded(OptionCode.Output);

    /// <summary>-t: the cache mode, or null.</summary>
    public string? Cache => Recorded('t');

    /// <summary>-T: the source cache mode, or null.</summary>
    public string? SourceCache => Recorded('T');

    /// <summary>-b: the other image the command names (the backing file of create and rebase, the base of commit, the merge source of bitmap), or null.</summary>
    public string? OtherImage => Recorded('b');

    /// <summary>-F: the format of the other image (for compare, of the second image), or null.</summary>
    public string? OtherFormat => Recorded('F');

    private string? Recorded(int option) => _recorded.GetValueOrDefault(option);

    /// <summary>The one operand, the image's file name; throws qemu-img's usage error when there is not exactly one.</summary>
    public string OneImage() => Operands.Count == 1
        ? Operands[0]
        : throw new QimgUsageException("Expecting one image file name");

    /// <summary>-U.</summary>
    public bool ForceShare { get; private set; }

    /// <summary>The next option the command handles itself; -1 when the options are exhausted.</summary>
    public int Next()
    {
        while (true)
        {
            int c = _quietGetopt ? _getopt.NextOption() : _getopt.Next();
            switch (c)
            {
                case 'h':
                case GetOpt.Unrecognized or GetOpt.MissingArgument:
                    // Without a leading ':' getopt has printed its complaint; qemu-img then shows its help.
                    throw new QimgExitException(HelpText.Print(_ctx));
                case OptionCode.Object:
                    if (UserObjects.Add(_getopt.OptArg!, "qimg") is { } objectError)
                    {
                        throw new QimgException(objectError);
                    }
                    break;
                case OptionCode.ImageOpts:
                    ImageOpts = true;
                    break;
                case 'U':
                    ForceShare = true;
                    break;
                case 'f':
                    Format = _getopt.OptArg;
                    break;
                case 'q':
                    Quiet = true;
                    break;
                case 'p':
                    Progress = true;
                    break;
                case OptionCode.Output or 't' or 'T' or 'b' or 'F':
                    _recorded[c] = _getopt.OptArg!;
                    return c;
                default:
                    return c;
            }
        }
    }
}

/// <summary>qemu-img's reaction to getopt's errors.</summary>
public static class GetOptUsage
{
    /// <summary>
    /// GetOpt.Next(), with qemu-img's reaction to a bad option built in: a missing argument or an unrecognized option
    /// throws the usage error qemu-img prints (naming argv[optind - 1], with its "Try ... --help" line).
    /// </summary>
    public static int NextOption(this GetOpt g)
    {
        int c = g.Next();
        return c switch
        {
            GetOpt.MissingArgument => throw new QimgUsageException($"missing argument for option '{g.ErrorText}'"),
            GetOpt.Unrecognized => throw new QimgUsageException($"unrecognized option '{g.ErrorText}'"),
            _ => c,
        };
    }
}
