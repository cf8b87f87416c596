using System.Diagnostics;

namespace Qcow2.Tools.Qio.Commands;

/// <summary>flush, discard, truncate, help, quit, sleep, abort and sigraise.</summary>
internal static class MiscCommands
{
    private const int EINVAL = -(int)Errno.EINVAL;

    /// <summary>truncate.</summary>
    public static readonly CommandInfo TruncateInfo = new("truncate", "t", Truncate, 1, 3,
        "[-m prealloc_mode] off", "truncates the current file at the given offset", NeedsWrite: true);

    /// <summary>discard.</summary>
    public static readonly CommandInfo DiscardInfo = new("discard", "d", Discard, 2, -1,
        "[-Cq] off len", "discards a number of bytes at a specified offset", HelpTexts.Discard, NeedsWrite: true);

    /// <summary>flush: prints nothing, fails silently.</summary>
    public static int Flush(QioSession s, string[] argv) => QioSession.Try(s.Device!.Flush);

    private static int Truncate(QioSession s, string[] argv)
    {
        var g = new GetOpt(argv, "m:", s.Err);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'm':
                    if (g.OptArg is not ("off" or "metadata" or "falloc" or "full"))
                    {
                        s.ErrorReport($"Invalid preallocation mode '{g.OptArg}'");
                        return EINVAL;
                    }
                    break;
                default: return IoCommands.Usage(s, TruncateInfo);
            }
        }
        if (g.Operands.Count == 0)
        {
            return IoCommands.Usage(s, TruncateInfo);
        }
        long offset = s.Cvtnum(g.Operands[0]);
        if (offset < 0)
        {
            // qemu-io names argv[1] here, whatever the options were.
            s.Out.WriteLine(Numbers.CvtnumError(offset, argv[1]));
            return (int)offset;
        }
        var dev = s.Device!;
        try
        {
            dev.Resize(offset, shrink: true);
            return 0;
        }
        catch (Exception e) when (QioSession.IsRequestFailure(e) || e is ImageOpenException or ArgumentException)
        {
            s.ErrorReport(e.Message);
            return e is ArgumentException ? EINVAL : QioSession.ErrnoOf(e);
        }
    }

    /// <summary>help [command].</summary>
    public static int Help(QioSession s, string[] argv)
    {
        var o = s.Out;
        if (argv.Length < 2)
        {
            foreach (var ct in CommandTable.All)
            {
                o.WriteLine(OneLine(ct.Name, ct));
            }
            o.WriteLine();
            o.WriteLine("Use 'help commandname' for extended help.");
            return 0;
        }
        var found = CommandTable.Find(argv[1]);
        if (found is null)
        {
            o.WriteLine($"command {argv[1]} not found");
            return EINVAL;
        }
        o.WriteLine(OneLine(argv[1], found));
        if (found.Help is not null)
        {
            o.Write(found.Help);
        }
        return 0;
    }

    private static string OneLine(string name, CommandInfo ct) =>
        ct.Args is null ? $"{name} -- {ct.OneLine}" : $"{name} {ct.Args} -- {ct.OneLine}";

    /// <summary>quit.</summary>
    public static int Quit(QioSession s, string[] argv)
    {
        s.QuitRequested = true;
        return 0;
    }

    /// <summary>sleep MS: lets pending requests complete, then waits.</summary>
    public static int Sleep(QioSession s, string[] argv)
    {
        if (!QemuNumbers.StrToLong(argv[1], out long ms) || ms < 0)
        {
            s.Out.WriteLine($"{argv[1]} is not a valid number");
            return EINVAL;
        }
        s.Aio.Poll();
        Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(ms, int.MaxValue)));
        s.Aio.Poll();
        return 0;
    }

    /// <summary>abort: ends the run as a crash would (exit status 134).</summary>
    public static int Abort(QioSession s, string[] argv)
    {
        s.KillStatus = 128 + 6;
        return 0;
    }

    /// <summary>sigraise SIGNAL: ends the run with status 128+SIGNAL.</summary>
    public static int Sigraise(QioSession s, string[] argv)
    {
        const int NSig = 65;
        long sig = s.Cvtnum(argv[1]);
        if (sig < 0)
        {
            s.Out.WriteLine(Numbers.CvtnumError(sig, argv[1]));
            return (int)sig;
        }
        if (sig > NSig)
        {
            s.Out.WriteLine($"signal argument '{argv[1]}' is too large to be a valid signal");
            return EINVAL;
        }
        s.Out.Flush();
        s.Err.Flush();
        if (sig != 0)
        {
            s.KillStatus = 128 + (int)sig;
        }
        return 0;
    }

    private static int Discard(QioSession s, string[] argv)
    {
        var o = s.Out;
        var g = new IoOptions(s, argv, "Cq");
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                default: return IoCommands.Usage(s, DiscardInfo);
            }
        }
        if (g.Operands.Count != 2)
        {
            return IoCommands.Usage(s, DiscardInfo);
        }
        if (!RangeArgs.OffsetAndRequest(s, g.Operands, out long offset, out long bytes, out int rc))
        {
            return rc;
        }
        var dev = s.Device!;
        long t1 = Stopwatch.GetTimestamp();
        int ret = QioSession.Try(() => dev.Discard(offset, bytes));
        var elapsed = Stopwatch.GetElapsedTime(t1);
        if (ret < 0)
        {
            o.WriteLine($"discard failed: {QioSession.StrError(ret)}");
            return ret;
        }
        if (!g.Quiet)
        {
            Report.Print(o, "discard", elapsed, offset, bytes, bytes, 1, g.Machine);
        }
        return 0;
    }
}
