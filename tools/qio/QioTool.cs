using Qcow2.Cli;
using Qcow2.Tools.Qio.Commands;

namespace Qcow2.Tools.Qio;

/// <summary>Entry point of qio, callable in-process with its own streams.</summary>
public static class QioTool
{
    private const int OptObject = 256;
    private const int OptImageOpts = 257;
    private const int OptQmpEvents = 258;

    /// <summary>Longest line qemu-io reads at once from standard input (fgets buffer size).</summary>
    private const int MaxLine = 1024;

    private static readonly LongOption[] LongOptions =
    [
        new("help", ArgKind.None, 'h'), new("version", ArgKind.None, 'V'), new("cmd", ArgKind.Required, 'c'), new("format", ArgKind.Required, 'f'),
        new("read-only", ArgKind.None, 'r'), new("snapshot", ArgKind.None, 's'), new("nocache", ArgKind.None, 'n'),
        new("copy-on-read", ArgKind.None, 'C'), new("misalign", ArgKind.None, 'm'), new("native-aio", ArgKind.None, 'k'),
        new("aio", ArgKind.Required, 'i'), new("discard", ArgKind.Required, 'd'), new("cache", ArgKind.Required, 't'), new("trace", ArgKind.Required, 'T'),
        new("object", ArgKind.Required, OptObject), new("image-opts", ArgKind.None, OptImageOpts), new("force-share", ArgKind.None, 'U'),
        new("qmp-events", ArgKind.None, OptQmpEvents),
    ];

    /// <summary>Runs qio with the given arguments; returns the exit code.</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        const string prog = QioSession.ProgramName;
        // Each run is a process of its own for QEMU: the secrets of an earlier in-process run are gone.
        Qcow2.Crypto.Secrets.Clear();
        bool readOnly = false, imageOpts = false, forceShare = false, writeThrough = true, qmpEvents = false, unmap = true, snapshot = false;
        string? format = null;
        var commands = new List<string>();
        var g = new GetOpt([prog, .. args], "hVc:d:f:rsnCmki:t:T:U", ctx.Err, LongOptions, prog);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 's': snapshot = true; break;
                case 'n': writeThrough = false; break;
                case 'C': case 'm': case 'k': case 'T': break;
                case 'd' or 'i' or 't' when FileCommands.ModeError((char)c, g.OptArg!) is string modeError:
                    ctx.Err.WriteLine($"{prog}: {modeError}");
                    return 1;
                case 'd':
                    unmap = g.OptArg is "on" or "unmap";
                    break;
                case 'f': format = g.OptArg; break;
                case 'c': commands.Add(g.OptArg!); break;
                case 'r': readOnly = true; break;
                case 'i':
                    break;
                case 't':
                    writeThrough = FileCommands.IsWriteThrough(g.OptArg!);
                    break;
                case 'V':
                    ctx.Out.WriteLine($"{prog} version 7.2.0 (qcow2 engine; qemu-io 7.2 compatible)");
                    ctx.Out.WriteLine("Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers");
                    return 0;
                case 'h':
                    Usage(ctx.Out);
                    return 0;
                case 'U': forceShare = true; break;
                case OptObject:
                    if (UserObjects.Add(g.OptArg!, "qio") is { } objectError)
                    {
                        ctx.Err.WriteLine($"{prog}: {objectError}");
                        return 1;
                    }
                    break;
                case OptImageOpts: imageOpts = true; break;
                case OptQmpEvents: qmpEvents = true; break;
                default:
                    Usage(ctx.Out);
                    return 1;
            }
        }
        if (g.Operands.Count > 1)
        {
            Usage(ctx.Out);
            return 1;
        }
        if (format is not null && imageOpts)
        {
            ctx.Err.WriteLine($"{prog}: --image-opts and -f are mutually exclusive");
            return 1;
        }

        var session = new QioSession(ctx) { ImageOpts = imageOpts, PrintEvents = qmpEvents };
        if (g.Operands.Count == 1)
        {
            var request = new OpenRequest(g.Operands[0], readOnly, forceShare, [])
            {
                WriteThrough = writeThrough, Unmap = unmap, Snapshot = snapshot,
            };
            if (!OpenOperand(session, request, format, imageOpts))
            {
                return 1;
            }
        }

        int lastError = commands.Count > 0 ? RunCommands(session, commands) : RunInput(session);
        if (session.KillStatus is int killed)
        {
            session.AbandonFile();
            return killed;
        }
        session.CloseFile();
        return lastError < 0 ? 1 : 0;
    }

    /// <summary>
    /// Opens the image named on the command line: with --image-opts the operand is an option string, otherwise a file
    /// name (with -f as the driver); false when that fails (the error is printed).
    /// </summary>
    private static bool OpenOperand(QioSession session, OpenRequest request, string? format, bool imageOpts)
    {
        var options = request.Options;
        string? name = request.Name;
        if (imageOpts)
        {
            if (!FileCommands.ParseOptions(session, name!, options))
            {
                return false;
            }
            name = null;
        }
        else if (format is not null)
        {
            options.Add(new("driver", format));
        }
        return session.OpenFile(request with { Name = name }) == 0;
    }

    private static int RunCommands(QioSession session, List<string> commands)
    {
        int lastError = 0;
        foreach (var command in commands)
        {
            if (session.QuitRequested || session.KillStatus is not null)
            {
                break;
            }
            int ret = session.Execute(command);
            if (ret < 0)
            {
                lastError = ret;
            }
        }
        return lastError;
    }

    private static int RunInput(QioSession session)
    {
        int lastError = 0;
        var ctx = session.Ctx;
        var pending = new Queue<string>();
        while (!session.QuitRequested && session.KillStatus is null)
        {
            ctx.Out.Write($"{QioSession.ProgramName}> ");
            ctx.Out.Flush();
            if (pending.Count == 0)
            {
                string? line = ctx.In.ReadLine();
                if (line is null)
                {
                    break;
                }
                // fgets hands a long line over in pieces of MaxLine - 1 characters.
                for (int i = 0; i < line.Length || i == 0; i += MaxLine - 1)
                {
                    pending.Enqueue(line.Substring(i, Math.Min(MaxLine - 1, line.Length - i)));
                }
            }
            int ret = session.Execute(pending.Dequeue());
            if (ret < 0)
            {
                lastError = ret;
            }
        }
        return lastError;
    }

    private static void Usage(TextWriter o)
    {
        const string name = QioSession.ProgramName;
        o.Write(
            $"Usage: {name} [OPTIONS]... [-c STRING]... [file]\n" +
            "QEMU Disk exerciser\n" +
            "\n" +
            "  --object OBJECTDEF   define an object such as 'secret' for\n" +
            "                       passwords and/or encryption keys\n" +
            "  --image-opts         treat file as option string\n" +
            "  -c, --cmd STRING     execute command with its arguments\n" +
            "                       from the given string\n" +
            "  -f, --format FMT     specifies the block driver to use\n" +
            "  -r, --read-only      export read-only\n" +
            "  -s, --snapshot       use snapshot file\n" +
            "  -n, --nocache        disable host cache, short for -t none\n" +
            "  -C, --copy-on-read   enable copy-on-read\n" +
            "  -m, --misalign       misalign allocations for O_DIRECT\n" +
            "  -k, --native-aio     use kernel AIO implementation\n" +
            "                       (Linux only, prefer use of -i)\n" +
            "  -i, --aio=MODE       use AIO mode (threads, native or io_uring)\n" +
            "  -t, --cache=MODE     use the given cache mode for the image\n" +
            "  -d, --discard=MODE   use the given discard mode for the image\n" +
            "  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n" +
            "                       specify tracing options\n" +
            "                       see qemu-img(1) man page for full description\n" +
            "  -U, --force-share    force shared permissions\n" +
            "  -h, --help           display this help and exit\n" +
            "  -V, --version        output version information and exit\n" +
            "\n" +
            $"See '{name} -c help' for information on available commands.\n" +
            "\n" +
            "See <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n" +
            "More information on the QEMU project at <https://qemu.org>.\n");
    }
}
