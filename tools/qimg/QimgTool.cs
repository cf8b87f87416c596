using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>Entry point of qimg, callable in-process with its own streams.</summary>
public static class QimgTool
{
    /// <summary>The name qimg prints where qemu-img prints "qemu-img".</summary>
    public const string Name = "qimg";

    private static readonly LongOption[] LongOptions =
    [
        new("help", ArgKind.None, 'h'),
        new("version", ArgKind.None, 'V'),
        new("trace", ArgKind.Required, 'T'),
    ];

    /// <summary>Runs qimg with the given arguments; returns the exit code.</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        // Each run is a process of its own for QEMU: the secrets of an earlier in-process run are gone.
        Qcow2.Crypto.Secrets.Clear();
        try
        {
            return Dispatch(args, ctx);
        }
        catch (QimgUsageException e)
        {
            ctx.Err.Write($"{Name}: {e.Message}\nTry '{Name} --help' for more information\n");
            return e.ExitCode;
        }
        catch (ToolException e)
        {
            ctx.Err.Write($"{Name}: {e.Message}\n{e.Hint}");
            return e.ExitCode;
        }
        catch (QimgExitException e)
        {
            return e.ExitCode;
        }
        catch (Exception e)
        {
            ctx.Err.Write($"{Name}: {e.Message}\n");
            return 1;
        }
    }

    private static int Dispatch(string[] args, ToolContext ctx)
    {
        if (args.Length < 1)
        {
            throw new QimgUsageException("Not enough arguments");
        }
        string[] argv = [Name, .. args];
        var g = new GetOpt(argv, "+:hVT:", LongOptions);
        for (int c; (c = g.NextOption()) != -1;)
        {
            switch (c)
            {
                case 'h':
                    return HelpText.Print(ctx);
                case 'V':
                    ctx.Out.Write(HelpText.Version);
                    return 0;
                case 'T':
                    // Tracing is accepted and ignored: qimg has no trace events.
                    break;
            }
        }
        if (g.Operands.Count < 1)
        {
            return 0;
        }
        string[] cmdArgs = [.. g.Operands];
        QimgCommand cmd = QimgCommands.Find(cmdArgs[0]) ?? throw new QimgUsageException($"Command not found: {cmdArgs[0]}");
        return cmd.Run(cmdArgs, ctx);
    }
}
