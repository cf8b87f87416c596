using System.Globalization;
using System.Text;
using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg check: qemu-img check's options, repair modes, human and JSON reports and exit codes.</summary>
public static class CheckCommand
{
    /// <summary>Exit code when the format has no consistency check.</summary>
    public const int NotSupportedExitCode = 63;

    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        CommandOptions.Help,
        CommandOptions.FormatOption,
        new("repair", ArgKind.Required, 'r'),
        CommandOptions.OutputOption,
        CommandOptions.Object,
        CommandOptions.ImageOptsOption,
        CommandOptions.ForceShareOption,
    ];

    /// <summary>Runs the command; args[0] is "check". Returns 0, 1, 2, 3 or 63 as qemu-img check does.</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        var fix = CheckRepair.None;
        var g = new CommandOptions(args, ":hf:r:T:qU", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'r':
                    fix = g.OptArg switch
                    {
                        "leaks" => CheckRepair.Leaks,
                        "all" => CheckRepair.All,
                        _ => throw new QimgUsageException($"Unknown option value for -r (expecting 'leaks' or 'all'): {g.OptArg}"),
                    };
                    break;
            }
        }
        string filename = g.OneImage();
        string cache = g.SourceCache ?? CacheModes.Default;
        bool json = OutputFormat.IsJson(g.Output);
        if (!CacheModes.IsValid(cache))
        {
            throw new QimgException($"Invalid source cache option: {cache}");
        }

        var diagnostics = new QuietWriter(ctx, g.Quiet);
        using BlockDevice dev = Open(ctx, filename, g.Format, g.ImageOpts, fix != CheckRepair.None, g.ForceShare);
        if (dev is not Qcow2Image img)
        {
            ctx.Err.Write($"{QimgTool.Name}: This image format does not support checks\n");
            return NotSupportedExitCode;
        }

        string prefix = QimgTool.Name + ": ";
        var check = img.CheckConsistency(fix, ctx.Err, prefix);
        if (check.Failure is null && (check.CorruptionsFixed != 0 || check.LeaksFixed != 0))
        {
            if (!json)
            {
                diagnostics.Write("The following inconsistencies were found and repaired:\n\n"
                    + $"    {check.LeaksFixed} leaked clusters\n"
                    + $"    {check.CorruptionsFixed} corruptions\n\n"
                    + "Double checking the fixed image now...\n");
            }
            var again = img.CheckConsistency(CheckRepair.None, ctx.Err, prefix);
            check = again with { LeaksFixed = check.LeaksFixed, CorruptionsFixed = check.CorruptionsFixed };
        }

        if (check.Failure is null)
        {
            diagnostics.Write(json ? Json(check, filename, dev.FormatName) + "\n" : Human(check));
        }

        if (check.Failure is not null || check.CheckErrors != 0)
        {
            // No fflush before error_report: with both streams on one pipe the report comes before the buffered summary.
            ctx.Err.Write(check.Failure is { } e
                ? $"{QimgTool.Name}: Check failed: {ErrnoText.Of(e)}\n"
                : $"{QimgTool.Name}: Check failed\n");
            return 1;
        }
        return check.Corruptions != 0 ? 2 : check.Leaks != 0 ? 3 : 0;
    }

    /// <summary>img_open for check: BDRV_O_CHECK, read-write when repairing, errors as "Could not open 'NAME': REASON".</summary>
    private static BlockDevice Open(ToolContext ctx, string filename, string? fmt, bool imageOpts, bool readWrite, bool forceShare)
    {
        if (imageOpts && fmt is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        var options = new OpenOptions
        {
            Format = fmt,
            ReadOnly = !readWrite,
            CheckMode = true,
            NoBacking = true,
            ForceShare = forceShare && !readWrite,
        }.ForTool(ctx);
        string file = imageOpts ? ImageArgs.ApplyImageOpts(filename, options) : filename;
        if (forceShare && readWrite)
        {
            throw new QimgException($"Could not open '{(imageOpts ? filename : file)}': force-share=on can only be used with read-only images");
        }
        return ImageArgs.OpenFile(ctx, file, options, warnProbedRaw: readWrite, imageOpts ? filename : null);
    }

    /// <summary>The human report, every line ending in a newline.</summary>
    internal static string Human(CheckResult c)
    {
        var sb = new StringBuilder();
        if (c.Corruptions == 0 && c.Leaks == 0 && c.CheckErrors == 0)
        {
            sb.Append("No errors were found on the image.\n");
        }
        else
        {
            if (c.Corruptions != 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\n{c.Corruptions} errors were found on the image.\n")
                    .Append("Data may be corrupted, or further writes to the image may corrupt it.\n");
            }
            if (c.Leaks != 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\n{c.Leaks} leaked clusters were found on the image.\n")
                    .Append("This means waste of disk space, but no harm to data.\n");
            }
            if (c.CheckErrors != 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\n{c.CheckErrors} internal errors have occurred during the check.\n");
            }
        }
        if (c.TotalClusters != 0 && c.AllocatedClusters != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{c.AllocatedClusters}/{c.TotalClusters} = ")
                .Append(Percent(c.AllocatedClusters * 100.0 / c.TotalClusters)).Append("% allocated, ")
                .Append(Percent(c.FragmentedClusters * 100.0 / c.AllocatedClusters)).Append("% fragmented, ")
                .Append(Percent(c.CompressedClusters * 100.0 / c.AllocatedClusters)).Append("% compressed clusters\n");
        }
        if (c.ImageEndOffset != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Image end offset: {c.ImageEndOffset}\n");
        }
        return sb.ToString();
    }

    /// <summary>C's %0.2f.</summary>
    private static string Percent(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>The ImageCheck object as qemu-img --output=json prints it (zero optional counters left out).</summary>
    internal static string Json(CheckResult c, string filename, string format)
    {
        var d = new QDict()
            .Add("filename", filename)
            .Add("format", format)
            .Add("check-errors", c.CheckErrors);
        AddNonZero(d, "image-end-offset", c.ImageEndOffset);
        AddNonZero(d, "corruptions", c.Corruptions);
        AddNonZero(d, "leaks", c.Leaks);
        AddNonZero(d, "corruptions-fixed", c.CorruptionsFixed);
        AddNonZero(d, "leaks-fixed", c.LeaksFixed);
        AddNonZero(d, "total-clusters", c.TotalClusters);
        AddNonZero(d, "allocated-clusters", c.AllocatedClusters);
        AddNonZero(d, "fragmented-clusters", c.FragmentedClusters);
        AddNonZero(d, "compressed-clusters", c.CompressedClusters);
        return QJson.Pretty(d);
    }

    private static void AddNonZero(QDict d, string key, long value)
    {
        if (value != 0)
        {
            d.Add(key, value);
        }
    }

    /// <summary>qprintf: stdout unless -q.</summary>
    private sealed class QuietWriter(ToolContext ctx, bool quiet)
    {
        public void Write(string text)
        {
            if (!quiet)
            {
                ctx.Out.Write(text);
            }
        }
    }
}
