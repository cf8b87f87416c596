using System.Diagnostics;
using System.Globalization;
using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qimg bench: qemu-img 7.2's img_bench (sequential read or write requests of one size, timed), with its options,
/// validation messages and output lines.
/// </summary>
/// <remarks>
/// <para>Differences from qemu-img, all of them about how requests are issued, none about what is printed:</para>
/// <list type="bullet">
/// <item>Requests run one at a time on the calling thread; <c>-d</c> is validated and printed but does not put requests in
/// flight together, so <c>--no-drain</c> changes nothing and a flush simply follows every <c>--flush-interval</c>th request.</item>
/// <item>qemu-img with <c>-d 0</c> and a count above zero never submits a request and never finishes; qimg runs the requests.</item>
/// <item><c>-t</c>: writethrough and directsync flush after every write (the engine's writethrough mode); none, directsync and
/// unsafe do not open with O_DIRECT or drop flushes. <c>-i</c> and <c>-n</c> are validated (including aio=native's need
/// for cache.direct) and otherwise ignored.</item>
/// </list>
/// <para>When the environment variable <c>QIMG_BENCH_STATS</c> is set and not empty, one extra line goes to stderr after
/// the run (see <see cref="BenchStats"/>): the open time and the overlap structures' mode and nominal memory.</para>
/// </remarks>
public static class BenchCommand
{
    /// <summary>Environment variable that turns on the extra statistics line on stderr.</summary>
    public const string StatsVariable = "QIMG_BENCH_STATS";

    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        CommandOptions.Help,
        new("flush-interval", ArgKind.Required, OptionCode.FlushInterval),
        CommandOptions.ImageOptsOption,
        new("pattern", ArgKind.Required, OptionCode.Pattern),
        new("no-drain", ArgKind.None, OptionCode.NoDrain),
        CommandOptions.ForceShareOption,
    ];

    /// <summary>Runs the command; args[0] is "bench".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        var s = ParseArgs(args, ctx);
        if (s is null)
        {
            return 0;
        }
        var openWatch = Stopwatch.StartNew();
        using BlockDevice dev = Open(ctx, s);
        openWatch.Stop();
        string kind = s.Write ? "write" : "read";
        ctx.Out.Write($"Sending {s.Count} {kind} requests, {s.BufferSize} bytes each, {s.Depth} in parallel "
            + $"(starting at offset {s.Offset}, step size {s.Step})\n");
        if (s.FlushInterval > 0)
        {
            ctx.Out.Write($"Sending flush every {s.FlushInterval} requests\n");
        }
        double seconds = RunRequests(ctx, dev, s);
        ctx.Out.Write(string.Create(CultureInfo.InvariantCulture, $"Run completed in {seconds:F3} seconds.\n"));
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(StatsVariable)))
        {
            ctx.Err.Write(BenchStats.Line(dev, openWatch.Elapsed.TotalSeconds) + "\n");
        }
        return 0;
    }

    /// <summary>The requests, issued one after another: offsets advance by the step and wrap at the image size.</summary>
    private static double RunRequests(ToolContext ctx, BlockDevice dev, BenchSettings s)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>((int)s.BufferSize, pinned: true);
        buffer.AsSpan().Fill(s.Pattern);
        long imageSize = dev.Size;
        long offset = s.Offset;
        var watch = Stopwatch.StartNew();
        try
        {
            for (long done = 1; done <= s.Count; done++)
            {
                if (s.Write)
                {
                    dev.Write(offset, buffer);
                }
                else
                {
                    dev.Read(offset, buffer);
                }
                offset += s.Step;
                if (imageSize > 0)
                {
                    offset %= imageSize;
                }
                if (s.FlushInterval > 0 && done % s.FlushInterval == 0)
                {
                    dev.Flush();
                }
            }
        }
        catch (BlockIOException e)
        {
            ctx.Out.Flush();
            throw new QimgException($"Failed request: {ErrnoText.Of(e.Errno)}");
        }
        watch.Stop();
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Parses and validates the arguments in qemu-img's order; null after --help.</summary>
    private static BenchSettings? ParseArgs(string[] args, ToolContext ctx)
    {
        var s = new BenchSettings();
        var g = new CommandOptions(args, ":hc:d:f:ni:o:qs:S:t:wU", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            string arg = g.OptArg ?? "";
            switch (c)
            {
                case 'c':
                    s.Count = ParseInt(arg, "Invalid request count specified");
                    break;
                case 'd':
                    s.Depth = ParseInt(arg, "Invalid queue depth specified");
                    break;
                case 'n':
                    s.NativeAio = true;
                    break;
                case 'i':
                    s.NativeAio |= ParseAio(arg);
                    break;
                case 'o':
                    s.Offset = QimgNumbers.Cvtnum("offset", arg, QimgNumbers.WarnTo(ctx.Err));
                    break;
                case 's':
                    s.BufferSize = QimgNumbers.Cvtnum("buffer size", arg, QimgNumbers.WarnTo(ctx.Err), 0, int.MaxValue);
                    break;
                case 'S':
                    s.Step = QimgNumbers.Cvtnum("step_size", arg, QimgNumbers.WarnTo(ctx.Err), 0, int.MaxValue);
                    break;
                case 't':
                    (s.WriteThrough, s.DirectCache) = ParseCacheMode(arg);
                    break;
                case 'w':
                    s.Write = true;
                    break;
                case OptionCode.Pattern:
                    s.Pattern = (byte)ParseInt(arg, "Invalid pattern byte specified", byte.MaxValue);
                    break;
                case OptionCode.FlushInterval:
                    s.FlushInterval = ParseInt(arg, "Invalid flush interval specified");
                    break;
                case OptionCode.NoDrain:
                    s.Drain = false;
                    break;
            }
        }
        // qemu-img bench prints its lines with plain printf, so -q silences nothing.
        (s.Format, s.ForceShare, s.ImageOpts) = (g.Format, g.ForceShare, g.ImageOpts);
        s.FileName = g.OneImage();
        if (s.Step == 0)
        {
            // A step of 0 (the default) means one buffer size.
            s.Step = s.BufferSize;
        }
        if (s.FlushInterval > 0 && !s.Write)
        {
            throw new QimgException("--flush-interval is only available in write tests");
        }
        if (s.FlushInterval > 0 && s.FlushInterval < s.Depth)
        {
            throw new QimgException("Flush interval can't be smaller than depth");
        }
        return s;
    }

    /// <summary>qemu_strtoul with base 0 and a maximum, as bench checks -c, -d, --pattern and --flush-interval.</summary>
    private static int ParseInt(string value, string message, int max = int.MaxValue)
    {
        if (QemuNumbers.StrToU64(value, 0, out ulong v) != QemuNumbers.Status.Ok || v > (ulong)max)
        {
            throw new QimgException(message);
        }
        return (int)v;
    }

    /// <summary>bdrv_parse_aio: true for native, false for threads and io_uring; anything else is an error.</summary>
    private static bool ParseAio(string mode) => mode switch
    {
        "native" => true,
        "threads" or "io_uring" => false,
        _ => throw new QimgException($"Invalid aio option: {mode}"),
    };

    /// <summary>bdrv_parse_cache_mode: (writethrough, cache.direct) for each of qemu's cache mode names.</summary>
    private static (bool WriteThrough, bool Direct) ParseCacheMode(string mode) => mode switch
    {
        "off" or "none" => (false, true),
        "directsync" => (true, true),
        "writeback" or "unsafe" => (false, false),
        "writethrough" => (true, false),
        _ => throw new QimgException("Invalid cache mode"),
    };

    /// <summary>img_open for bench: read-write for write tests, the cache mode's writethrough flag, qemu's open errors.</summary>
    private static BlockDevice Open(ToolContext ctx, BenchSettings s)
    {
        if (s.ImageOpts && s.Format is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        var options = new OpenOptions
        {
            Format = s.Format,
            ReadOnly = !s.Write,
            WriteThrough = s.WriteThrough,
            ForceShare = s.ForceShare && !s.Write,
        }.ForTool(ctx);
        string file = s.ImageOpts ? ImageArgs.ApplyImageOpts(s.FileName, options) : s.FileName;
        if (s.ForceShare && s.Write)
        {
            throw new QimgException($"Could not open '{s.FileName}': force-share=on can only be used with read-only images");
        }
        BlockDevice dev = ImageArgs.OpenOrSay(file, options, $"Could not open '{s.FileName}'");
        if (s.NativeAio && !s.DirectCache)
        {
            // The file layer refuses aio=native without O_DIRECT once the file itself was found.
            dev.Dispose();
            throw new QimgException(
                $"Could not open '{s.FileName}': aio=native was specified, but it requires cache.direct=on, which was not specified.");
        }
        return dev;
    }
}
