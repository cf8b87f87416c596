using System.Diagnostics;

namespace Qcow2.Tools.Qio.Commands;

/// <summary>read, readv, write and writev.</summary>
internal static class IoCommands
{
    private const int EINVAL = -(int)Errno.EINVAL;
    private const int SectorSize = 512;

    /// <summary>read.</summary>
    public static readonly CommandInfo ReadInfo = new("read", "r", Read, 2, -1,
        "[-abCqv] [-P pattern [-s off] [-l len]] off len", "reads a number of bytes at a specified offset", HelpTexts.Read);

    /// <summary>readv.</summary>
    public static readonly CommandInfo ReadvInfo = new("readv", null, Readv, 2, -1,
        "[-Cqv] [-P pattern] off len [len..]", "reads a number of bytes at a specified offset", HelpTexts.Readv);

    /// <summary>write.</summary>
    public static readonly CommandInfo WriteInfo = new("write", "w", Write, 2, -1,
        "[-bcCfnquz] [-P pattern | -s source_file] off len", "writes a number of bytes at a specified offset", HelpTexts.Write, NeedsWrite: true);

    /// <summary>writev.</summary>
    public static readonly CommandInfo WritevInfo = new("writev", null, Writev, 2, -1,
        "[-Cfq] [-P pattern] off len [len..]", "writes a number of bytes at a specified offset", HelpTexts.Writev, NeedsWrite: true);

    /// <summary>Prints the usage line of a command after a bad option; returns -EINVAL.</summary>
    public static int Usage(QioSession s, CommandInfo ci)
    {
        s.Out.WriteLine(ci.Usage);
        return EINVAL;
    }

    /// <summary>Parses an offset or length argument, printing qemu-io's parsing error; null on failure (rc holds the errno).</summary>
    public static long? Number(QioSession s, string arg, out int rc)
    {
        long v = s.Cvtnum(arg);
        if (v < 0)
        {
            s.Out.WriteLine(Numbers.CvtnumError(v, arg));
            rc = (int)v;
            return null;
        }
        rc = 0;
        return v;
    }

    private static int Read(QioSession s, string[] argv)
    {
        var o = s.Out;
        bool sflag = false, lflag = false, bflag = false;
        long patternOffset = 0, patternCount = 0;
        var g = new IoOptions(s, argv, "bCl:pP:qs:v");
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'b': bflag = true; break;
                case 'l':
                    lflag = true;
                    var l = Number(s, g.OptArg!, out int lrc);
                    if (l is null)
                    {
                        return lrc;
                    }
                    patternCount = l.Value;
                    break;
                case 'p': break;
                case IoOptions.BadPattern: return EINVAL;
                case 's':
                    sflag = true;
                    var so = Number(s, g.OptArg!, out int src);
                    if (so is null)
                    {
                        return src;
                    }
                    patternOffset = so.Value;
                    break;
                default: return Usage(s, ReadInfo);
            }
        }
        if (g.Operands.Count != 2)
        {
            return Usage(s, ReadInfo);
        }
        if (!RangeArgs.OffsetAndRequest(s, g.Operands, out long offset, out long count, out int rc))
        {
            return rc;
        }
        if (!g.PatternGiven && (lflag || sflag))
        {
            return Usage(s, ReadInfo);
        }
        if (!lflag)
        {
            patternCount = count - patternOffset;
        }
        if (patternCount < 0 || patternCount + patternOffset > count)
        {
            o.WriteLine("pattern verification range exceeds end of read data");
            return EINVAL;
        }
        if (bflag && !CheckSectorAligned(s, offset, count))
        {
            return EINVAL;
        }

        return ReadAndReport(s, g, bflag, offset, count, patternOffset, patternCount);
    }

    /// <summary>Reads the range (from the VM state with -b), checks the -P pattern and prints what -v and the timing ask for.</summary>
    private static int ReadAndReport(QioSession s, IoOptions g, bool bflag, long offset, long count, long patternOffset,
        long patternCount)
    {
        var o = s.Out;
        var buf = new byte[count];
        buf.AsSpan().Fill(0xab);
        var dev = s.Device!;
        long t1 = Stopwatch.GetTimestamp();
        int ret = bflag ? QioSession.Try(() => dev.ReadVmState(offset, buf)) : QioSession.Try(() => dev.Read(offset, buf));
        var elapsed = Stopwatch.GetElapsedTime(t1);
        if (ret < 0)
        {
            o.WriteLine($"read failed: {QioSession.StrError(ret)}");
            return ret;
        }
        if (g.PatternGiven && !IsFilled(buf.AsSpan((int)patternOffset, (int)patternCount), (byte)g.Pattern))
        {
            o.WriteLine($"Pattern verification failed at offset {offset + patternOffset}, {patternCount} bytes");
            ret = EINVAL;
        }
        if (g.Quiet)
        {
            return ret;
        }
        if (g.Verbose)
        {
            Report.Dump(o, buf, offset);
        }
        Report.Print(o, "read", elapsed, offset, count, count, 1, g.Machine);
        return ret;
    }

    /// <summary>Whether every byte of data equals pattern.</summary>
    public static bool IsFilled(ReadOnlySpan<byte> data, byte pattern) => !data.ContainsAnyExcept(pattern);

    private static bool CheckSectorAligned(QioSession s, long offset, long count)
    {
        if (offset % SectorSize != 0)
        {
            s.Out.WriteLine($"{offset} is not a sector-aligned value for 'offset'");
            return false;
        }
        if (count % SectorSize != 0)
        {
            s.Out.WriteLine($"{count} is not a sector-aligned value for 'count'");
            return false;
        }
        return true;
    }

    /// <summary>create_iovec: parses the lengths of a vectored request; null (after printing why) when one is bad.</summary>
    public static long? VectorLength(QioSession s, IReadOnlyList<string> lengths, out int rc)
    {
        long total = 0;
        rc = EINVAL;
        foreach (var arg in lengths)
        {
            long len = s.Cvtnum(arg);
            if (len < 0)
            {
                s.Out.WriteLine(Numbers.CvtnumError(len, arg));
                return null;
            }
            if (len > Numbers.RequestMaxBytes)
            {
                s.Out.WriteLine($"Argument '{arg}' exceeds maximum size {Numbers.RequestMaxBytes}");
                return null;
            }
            if (total > Numbers.RequestMaxBytes - len)
            {
                s.Out.WriteLine($"The total number of bytes exceed the maximum size {Numbers.RequestMaxBytes}");
                return null;
            }
            total += len;
        }
        rc = 0;
        return total;
    }

    private static int Readv(QioSession s, string[] argv)
    {
        var o = s.Out;
        var g = new IoOptions(s, argv, "CP:qv");
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case IoOptions.BadPattern: return EINVAL;
                default: return Usage(s, ReadvInfo);
            }
        }
        if (g.Operands.Count < 2)
        {
            return Usage(s, ReadvInfo);
        }
        if (!RangeArgs.OffsetAndVector(s, g.Operands, out long offset, out long size, out int rc))
        {
            return rc;
        }
        var buf = new byte[size];
        buf.AsSpan().Fill(0xab);
        var dev = s.Device!;
        long t1 = Stopwatch.GetTimestamp();
        int ret = QioSession.Try(() => dev.Read(offset, buf));
        var elapsed = Stopwatch.GetElapsedTime(t1);
        if (ret < 0)
        {
            o.WriteLine($"readv failed: {QioSession.StrError(ret)}");
            return ret;
        }
        if (g.PatternGiven && !IsFilled(buf, (byte)g.Pattern))
        {
            o.WriteLine($"Pattern verification failed at offset {offset}, {size} bytes");
            ret = EINVAL;
        }
        if (g.Quiet)
        {
            return ret;
        }
        if (g.Verbose)
        {
            Report.Dump(o, buf, offset);
        }
        Report.Print(o, "read", elapsed, offset, size, size, 1, g.Machine);
        return ret;
    }

    private static int Write(QioSession s, string[] argv)
    {
        var o = s.Out;
        bool bflag = false, zflag = false, cflag = false, sflag = false;
        bool fua = false, noFallback = false, mayUnmap = false;
        string? sourceFile = null;
        var g = new IoOptions(s, argv, "bcCfnpP:qs:uz", 0xcd);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'b': bflag = true; break;
                case 'c': cflag = true; break;
                case 'f': fua = true; break;
                case 'n': noFallback = true; break;
                case 'p': break;
                case IoOptions.BadPattern: return EINVAL;
                case 's': sflag = true; sourceFile = g.OptArg; break;
                case 'u': mayUnmap = true; break;
                case 'z': zflag = true; break;
                default: return Usage(s, WriteInfo);
            }
        }
        if (g.Operands.Count != 2)
        {
            return Usage(s, WriteInfo);
        }
        string? conflict = bflag && zflag ? "-b and -z cannot be specified at the same time"
            : fua && (bflag || cflag) ? "-f and -b or -c cannot be specified at the same time"
            : noFallback && !zflag ? "-n requires -z to be specified"
            : mayUnmap && !zflag ? "-u requires -z to be specified"
            : (zflag ? 1 : 0) + (g.PatternGiven ? 1 : 0) + (sflag ? 1 : 0) > 1 ? "Only one of -z, -P, and -s can be specified at the same time"
            : null;
        if (conflict is not null)
        {
            o.WriteLine(conflict);
            return EINVAL;
        }
        if (!RangeArgs.OffsetAndLength(s, g.Operands, out long offset, out long count, out int rc))
        {
            return rc;
        }
        if (count > Numbers.RequestMaxBytes && !noFallback)
        {
            o.WriteLine($"length cannot exceed {Numbers.RequestMaxBytes} without -n, given {g.Operands[1]}");
            return EINVAL;
        }
        if ((bflag || cflag) && !CheckSectorAligned(s, offset, count))
        {
            return EINVAL;
        }

        byte[] buf = [];
        if (!zflag)
        {
            if (count > Numbers.RequestMaxBytes)
            {
                // Only reachable with -n, which requires -z.
                return -(int)Errno.ERANGE;
            }
            if (FilledBuffer(s, count, sflag ? sourceFile! : null, (byte)g.Pattern) is not byte[] filled)
            {
                return EINVAL;
            }
            buf = filled;
        }

        return WriteAndReport(s, g, offset, count, buf, bflag, zflag, cflag, mayUnmap);
    }

    /// <summary>Writes the buffer, zeros (-z), compressed data (-c) or VM state (-b) and prints the timing line.</summary>
    private static int WriteAndReport(QioSession s, IoOptions g, long offset, long count, byte[] buf, bool bflag, bool zflag,
        bool cflag, bool mayUnmap)
    {
        var o = s.Out;
        var dev = s.Device!;
        long t1 = Stopwatch.GetTimestamp();
        int ret = QioSession.Try(bflag ? () => dev.WriteVmState(offset, buf)
            : zflag ? () => dev.WriteZeroes(offset, count, mayUnmap)
            : cflag ? () => dev.WriteCompressed(offset, buf)
            : () => dev.Write(offset, buf));
        var elapsed = Stopwatch.GetElapsedTime(t1);
        if (ret < 0)
        {
            o.WriteLine($"write failed: {QioSession.StrError(ret)}");
            return ret;
        }
        if (!g.Quiet)
        {
            Report.Print(o, "wrote", elapsed, offset, count, count, 1, g.Machine);
        }
        return 0;
    }

    /// <summary>What write sends: the -s file's bytes, repeated, or else the -P pattern; null when the file cannot be read.</summary>
    private static byte[]? FilledBuffer(QioSession s, long count, string? sourceFile, byte pattern)
    {
        var buf = new byte[count];
        if (sourceFile is not null)
        {
            return FillFromFile(s, sourceFile, buf) ? buf : null;
        }
        buf.AsSpan().Fill(pattern);
        return buf;
    }

    /// <summary>qemu_io_alloc_from_file: fills buf with the file's bytes, repeated; prints perror-style errors.</summary>
    private static bool FillFromFile(QioSession s, string file, byte[] buf)
    {
        int n;
        try
        {
            using var f = new FileStream(s.Ctx.Resolve(file), FileMode.Open, FileAccess.Read);
            n = f.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
        }
        catch (FileNotFoundException)
        {
            s.Err.WriteLine($"{file}: {ErrnoText.Of(Errno.ENOENT)}");
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            s.Err.WriteLine($"{file}: {ErrnoText.Of(Errno.ENOENT)}");
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            s.Err.WriteLine($"{file}: {ErrnoText.Of(Errno.EACCES)}");
            return false;
        }
        catch (IOException)
        {
            s.Err.WriteLine($"{file}: {ErrnoText.Of(Errno.EIO)}");
            return false;
        }
        if (n == 0 && buf.Length > 0)
        {
            s.Err.WriteLine($"{file}: file is empty");
            return false;
        }
        for (int p = n; p < buf.Length; p += n)
        {
            buf.AsSpan(0, Math.Min(n, buf.Length - p)).CopyTo(buf.AsSpan(p));
        }
        return true;
    }

    private static int Writev(QioSession s, string[] argv)
    {
        var o = s.Out;
        var g = new IoOptions(s, argv, "CfqP:", 0xcd);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'f': break;
                case IoOptions.BadPattern: return EINVAL;
                default: return Usage(s, WritevInfo);
            }
        }
        if (g.Operands.Count < 2)
        {
            return Usage(s, WritevInfo);
        }
        if (!RangeArgs.OffsetAndVector(s, g.Operands, out long offset, out long size, out int rc))
        {
            return rc;
        }
        var buf = new byte[size];
        buf.AsSpan().Fill((byte)g.Pattern);
        var dev = s.Device!;
        long t1 = Stopwatch.GetTimestamp();
        int ret = QioSession.Try(() => dev.Write(offset, buf));
        var elapsed = Stopwatch.GetElapsedTime(t1);
        if (ret < 0)
        {
            o.WriteLine($"writev failed: {QioSession.StrError(ret)}");
            return ret;
        }
        if (!g.Quiet)
        {
            Report.Print(o, "wrote", elapsed, offset, size, size, 1, g.Machine);
        }
        return 0;
    }
}
