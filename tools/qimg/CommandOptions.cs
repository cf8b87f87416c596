namespace Qcow2.Tools.Qimg;

/// <summary>What every qemu-img command does with getopt's result: bad options end in qemu-img's usage errors.</summary>
public static class CommandOptions
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
