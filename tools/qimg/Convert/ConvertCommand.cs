using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg convert: qemu-img convert's options, checks, messages, progress meter and copy, for raw and qcow2.</summary>
public static class ConvertCommand
{
    /// <summary>MAX_COROUTINES: the most parallel copy workers -m accepts.</summary>
    public const int MaxCoroutines = 16;


    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        .. CommandOptions.CommonAndForceShare,
        new("target-image-opts", ArgKind.None, OptionCode.TargetImageOpts),
        new("salvage", ArgKind.None, OptionCode.Salvage),
        new("target-is-zero", ArgKind.None, OptionCode.TargetIsZero),
        new("bitmaps", ArgKind.None, OptionCode.Bitmaps),
        new("skip-broken-bitmaps", ArgKind.None, OptionCode.SkipBroken),
    ];


    /// <summary>Runs the command; args[0] is "convert".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        var r = new ConvertRequest();
        var g = new CommandOptions(args, ":hf:O:B:CcF:o:l:S:pt:T:qnm:WUr:", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            ParseOption(ctx, g, c, r);
        }
        (r.Format, r.Progress, r.Quiet, r.ForceShare, r.ImageOpts) = (g.Format, g.Progress, g.Quiet, g.ForceShare, g.ImageOpts);
        return Convert(ctx, r, g.Operands);
    }

    private static void ParseOption(ToolContext ctx, CommandOptions g, int c, ConvertRequest r)
    {
        string arg = g.OptArg ?? "";
        switch (c)
        {
            case 'O': r.OutFormat = arg; break;
            case 'B': r.BackingFile = arg; break;
            case 'C': r.CopyRange = true; break;
            case 'c': r.Compressed = true; break;
            case 'F': r.BackingFormat = arg; break;
            case 'o': r.Options = CreateCommand.AccumulateOptions(r.Options, arg); break;
            case 'l': (r.SnapshotName, r.SnapshotOpts) = SnapshotParam.Parse(ctx, arg); break;
            case 'S': r.MinSparse = ParseSparseSize(ctx, arg); r.ExplicitMinSparse = true; break;
            case 't': r.Cache = arg; break;
            case 'T': r.SourceCache = arg; break;
            case 'n': r.SkipCreate = true; break;
            case 'm': r.Coroutines = ParseCoroutines(arg); break;
            case 'W': r.InOrder = false; break;
            case 'r': QimgNumbers.Cvtnum("rate limit", arg, QimgNumbers.WarnTo(ctx.Err)); break;
            case OptionCode.Salvage: r.Salvage = true; break;
            case OptionCode.TargetImageOpts: r.TargetImageOpts = true; break;
            case OptionCode.TargetIsZero: r.TargetIsZero = true; break;
            case OptionCode.Bitmaps: r.Bitmaps = true; break;
            case OptionCode.SkipBroken: r.SkipBrokenBitmaps = true; break;
        }
    }


    /// <summary>-S: a size in bytes, a multiple of 512 up to 16 MiB; returns sectors.</summary>
    private static int ParseSparseSize(ToolContext ctx, string arg)
    {
        long bytes = QimgNumbers.Cvtnum("buffer size for sparse output", arg, QimgNumbers.WarnTo(ctx.Err));
        if (bytes % ConvertSectors.SectorSize != 0 || bytes / ConvertSectors.SectorSize > ConvertCopier.MaxBufSectors)
        {
            throw new QimgException("Invalid buffer size for sparse output specified. Valid sizes are multiples of "
                + $"{ConvertSectors.SectorSize} up to {ConvertCopier.MaxBufSectors * ConvertSectors.SectorSize}. "
                + "Select 0 to disable sparse detection (fully allocates output).");
        }
        return (int)(bytes / ConvertSectors.SectorSize);
    }

    /// <summary>-m: qemu_strtol with base 0, then the range check.</summary>
    private static int ParseCoroutines(string arg)
    {
        if (!QemuStrToL(arg, out long v) || v < 1 || v > MaxCoroutines)
        {
            throw new QimgException($"Invalid number of coroutines. Allowed number of coroutines is between 1 and {MaxCoroutines}");
        }
        return (int)v;
    }

    /// <summary>qemu_strtol(s, NULL, 0, ...): optional blanks and sign, then a decimal, 0x hex or 0 octal number filling the rest.</summary>
    private static bool QemuStrToL(string s, out long value)
    {
        value = 0;
        int p = 0;
        while (p < s.Length && (s[p] == ' ' || (s[p] >= '\t' && s[p] <= '\r')))
        {
            p++;
        }
        bool negative = false;
        if (p < s.Length && (s[p] == '+' || s[p] == '-'))
        {
            negative = s[p] == '-';
            p++;
        }
        int numberBase = 10;
        if (p + 1 < s.Length && s[p] == '0' && (s[p + 1] == 'x' || s[p + 1] == 'X') && p + 2 < s.Length && Uri.IsHexDigit(s[p + 2]))
        {
            numberBase = 16;
            p += 2;
        }
        else if (p < s.Length && s[p] == '0')
        {
            numberBase = 8;
        }
        int start = p;
        long v = 0;
        for (; p < s.Length; p++)
        {
            int d = Uri.IsHexDigit(s[p]) ? Uri.FromHex(s[p]) : 99;
            if (d >= numberBase)
            {
                break;
            }
            v = v > (long.MaxValue - d) / numberBase ? long.MaxValue : v * numberBase + d;
        }
        if (p == start || p != s.Length)
        {
            return false;
        }
        value = negative ? -v : v;
        return true;
    }

    private static int Convert(ToolContext ctx, ConvertRequest r, IReadOnlyList<string> operands)
    {
        if (r.OutFormat is null && !r.TargetImageOpts)
        {
            r.OutFormat = "raw";
        }
        CheckCombinations(r);
        int srcNum = operands.Count - 1;
        string? outFilename = srcNum >= 1 ? operands[^1] : null;
        if (r.Options is not null && QemuOpts.HasHelpOption(r.Options))
        {
            if (r.OutFormat is null)
            {
                throw new QimgException("Option help requires a format be specified");
            }
            return CreateCommand.PrintOptionHelp(ctx, outFilename, r.OutFormat);
        }
        if (srcNum < 1)
        {
            throw new QimgException("Must specify image file name");
        }
        if (ParseCacheMode(r.SourceCache) is null)
        {
            throw new QimgException($"Invalid source cache option: {r.SourceCache}");
        }
        var progress = new ConvertProgress(ctx, r.Progress && !r.Quiet, 1.0f);
        progress.Print(0, 100);
        var sources = new List<ConvertSource>();
        BlockDevice? target = null;
        int exitCode = 1;
        try
        {
            var job = new ConvertJob(ctx, r, operands.Take(srcNum).ToList(), outFilename!, progress, sources);
            exitCode = job.Run(out target) ? 0 : 1;
        }
        catch (ToolException e) when (e is not QimgUsageException)
        {
            // Reported where it happens, before the progress meter's last line, as error_report does.
            ctx.Err.Write($"{QimgTool.Name}: {e.Message}\n{e.Hint}");
            exitCode = e.ExitCode;
        }
        finally
        {
            target?.Dispose();
            foreach (ConvertSource s in sources)
            {
                s.Dispose();
            }
            if (exitCode == 0)
            {
                progress.Print(100, 0);
            }
            progress.End();
        }
        return exitCode;
    }

    private static void CheckCombinations(ConvertRequest r)
    {
        if (r.SkipBrokenBitmaps && !r.Bitmaps)
        {
            throw new QimgException("Use of --skip-broken-bitmaps requires --bitmaps");
        }
        if (r.Compressed && r.CopyRange)
        {
            throw new QimgException("Cannot enable copy offloading when -c is used");
        }
        if (r.ExplicitMinSparse && r.CopyRange)
        {
            throw new QimgException("Cannot enable copy offloading when -S is used");
        }
        if (r.CopyRange && r.Salvage)
        {
            throw new QimgException("Cannot use copy offloading in salvaging mode");
        }
        if (r.TargetImageOpts && !r.SkipCreate)
        {
            throw new QimgException("--target-image-opts requires use of -n flag");
        }
        if (r.SkipCreate && r.Options is not null)
        {
            throw new QimgException("-o has no effect when skipping image creation");
        }
        if (r.TargetIsZero && !r.SkipCreate)
        {
            throw new QimgException("--target-is-zero requires use of -n flag");
        }
    }

    /// <summary>bdrv_parse_cache_mode: whether the mode writes through, or null for an unknown mode.</summary>
    public static bool? ParseCacheMode(string mode) => mode switch
    {
        "off" or "none" or "writeback" or "unsafe" => false,
        "directsync" or "writethrough" => true,
        _ => null,
    };

}
