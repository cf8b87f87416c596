using System.Diagnostics;

namespace Qcow2.Tools.Qio.Commands;

/// <summary>aio_read, aio_write and aio_flush.</summary>
internal static class AioCommands
{
    private const int EINVAL = -(int)Errno.EINVAL;

    /// <summary>aio_read.</summary>
    public static readonly CommandInfo AioReadInfo = new("aio_read", null, AioRead, 2, -1,
        "[-Ciqv] [-P pattern] off len [len..]", "asynchronously reads a number of bytes", HelpTexts.AioRead);

    /// <summary>aio_write.</summary>
    public static readonly CommandInfo AioWriteInfo = new("aio_write", null, AioWrite, 2, -1,
        "[-Cfiquz] [-P pattern] off len [len..]", "asynchronously writes a number of bytes", HelpTexts.AioWrite, NeedsWrite: true);

    private static int AioRead(QioSession s, string[] argv)
    {
        var o = s.Out;
        bool machine = false, quiet = false, verbose = false, pflag = false;
        int pattern = 0;
        var g = new GetOpt(argv, "CP:iqv", s.Err);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'C': machine = true; break;
                case 'P':
                    pflag = true;
                    var pat = Numbers.ParsePattern(g.OptArg!, o);
                    if (pat is null)
                    {
                        return EINVAL;
                    }
                    pattern = pat.Value;
                    break;
                case 'i':
                    o.WriteLine("injecting invalid read request");
                    return 0;
                case 'q': quiet = true; break;
                case 'v': verbose = true; break;
                default: return IoCommands.Usage(s, AioReadInfo);
            }
        }
        if (g.Operands.Count < 2)
        {
            return IoCommands.Usage(s, AioReadInfo);
        }
        if (!RangeArgs.OffsetAndVector(s, g.Operands, out long offset, out long size, out int rc))
        {
            return rc;
        }
        var buf = new byte[size];
        buf.AsSpan().Fill(0xab);
        var dev = s.Device!;
        long off = offset;
        s.Aio.Submit(
            () => QioSession.Try(() => dev.Read(off, buf)),
            (ret, elapsed) =>
            {
                if (ret < 0)
                {
                    o.WriteLine($"readv failed: {QioSession.StrError(ret)}");
                    return;
                }
                if (pflag && !IoCommands.IsFilled(buf, (byte)pattern))
                {
                    o.WriteLine($"Pattern verification failed at offset {off}, {buf.Length} bytes");
                }
                if (quiet)
                {
                    return;
                }
                if (verbose)
                {
                    Report.Dump(o, buf, off);
                }
                Report.Print(o, "read", elapsed, off, buf.Length, buf.Length, 1, machine);
            },
            Stopwatch.GetTimestamp());
        return 0;
    }

    private static int AioWrite(QioSession s, string[] argv)
    {
        var o = s.Out;
        bool machine = false, quiet = false, zflag = false, pflag = false, mayUnmap = false;
        int pattern = 0xcd;
        var g = new GetOpt(argv, "CfiqP:uz", s.Err);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'C': machine = true; break;
                case 'f': break;
                case 'q': quiet = true; break;
                case 'u': mayUnmap = true; break;
                case 'P':
                    // qemu-io 7.2 never sets its Pflag here, so -z with -P is not rejected.
                    var pat = Numbers.ParsePattern(g.OptArg!, o);
                    if (pat is null)
                    {
                        return EINVAL;
                    }
                    pattern = pat.Value;
                    break;
                case 'i':
                    o.WriteLine("injecting invalid write request");
                    return 0;
                case 'z': zflag = true; break;
                default: return IoCommands.Usage(s, AioWriteInfo);
            }
        }
        if (g.Operands.Count < 2)
        {
            return IoCommands.Usage(s, AioWriteInfo);
        }
        if (zflag && g.Operands.Count != 2)
        {
            o.WriteLine("-z supports only a single length parameter");
            return EINVAL;
        }
        if (mayUnmap && !zflag)
        {
            o.WriteLine("-u requires -z to be specified");
            return EINVAL;
        }
        if (zflag && pflag)
        {
            o.WriteLine("-z and -P cannot be specified at the same time");
            return EINVAL;
        }
        var offset = IoCommands.Number(s, g.Operands[0], out int rc);
        if (offset is null)
        {
            return rc;
        }
        long off = offset.Value;
        var dev = s.Device!;
        Action<int, TimeSpan> Done(long size) => (ret, elapsed) =>
        {
            if (ret < 0)
            {
                o.WriteLine($"aio_write failed: {QioSession.StrError(ret)}");
                return;
            }
            if (!quiet)
            {
                Report.Print(o, "wrote", elapsed, off, size, size, 1, machine);
            }
        };
        if (zflag)
        {
            var count = IoCommands.Number(s, g.Operands[1], out rc);
            if (count is null)
            {
                return rc;
            }
            long n = count.Value;
            // qemu-io 7.2 does not take a start time for zero writes, so their time counts from the monotonic clock's zero.
            s.Aio.Submit(() => QioSession.Try(() => dev.WriteZeroes(off, n, mayUnmap)), Done(n), 0);
            return 0;
        }
        var total = IoCommands.VectorLength(s, g.Operands.Skip(1).ToList(), out rc);
        if (total is null)
        {
            return rc;
        }
        var buf = new byte[total.Value];
        buf.AsSpan().Fill((byte)pattern);
        s.Aio.Submit(() => QioSession.Try(() => dev.Write(off, buf)), Done(buf.Length), Stopwatch.GetTimestamp());
        return 0;
    }

    /// <summary>aio_flush: completes all outstanding requests and prints their reports.</summary>
    public static int AioFlush(QioSession s, string[] argv)
    {
        s.Aio.Drain();
        return 0;
    }
}
