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
        var g = new IoOptions(s, argv, "CP:iqv");
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case IoOptions.BadPattern: return EINVAL;
                case 'i':
                    o.WriteLine("injecting invalid read request");
                    return 0;
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
                if (g.PatternGiven && !IoCommands.IsFilled(buf, (byte)g.Pattern))
                {
                    o.WriteLine($"Pattern verification failed at offset {off}, {buf.Length} bytes");
                }
                if (g.Quiet)
                {
                    return;
                }
                if (g.Verbose)
                {
                    Report.Dump(o, buf, off);
                }
                Report.Print(o, "read", elapsed, off, buf.Length, buf.Length, 1, g.Machine);
            },
            Stopwatch.GetTimestamp());
        return 0;
    }

    private static int AioWrite(QioSession s, string[] argv)
    {
        var o = s.Out;
        bool zflag = false, mayUnmap = false;
        var g = new IoOptions(s, argv, "CfiqP:uz", 0xcd);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'f': break;
                case 'u': mayUnmap = true; break;
                case IoOptions.BadPattern: return EINVAL;
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
        // qemu-io 7.2 checks -z against a Pflag that aio_write never sets, so -z with -P is not rejected.
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
            if (!g.Quiet)
            {
                Report.Print(o, "wrote", elapsed, off, size, size, 1, g.Machine);
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
        buf.AsSpan().Fill((byte)g.Pattern);
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
