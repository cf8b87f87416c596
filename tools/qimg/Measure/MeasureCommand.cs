using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg measure: the sizes a new raw or qcow2 image would need, for a given size or for an existing image, as qemu-img measure prints them.</summary>
public static class MeasureCommand
{
    private const string ShortOptions = "hf:O:o:l:U";

    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        CommandOptions.Help,
        CommandOptions.ImageOptsOption,
        CommandOptions.Object,
        CommandOptions.OutputOption,
        new("size", ArgKind.Required, OptionCode.Size),
        CommandOptions.ForceShareOption,
    ];


    /// <summary>What one measure command asks for.</summary>
    private sealed class Request
    {
        public bool Json { get; set; }
        public string? Format { get; set; }
        public string OutFormat { get; set; } = "raw";
        public string? Options { get; set; }
        public string? SnapshotName { get; set; }
        public (string? Id, string? Name)? SnapshotOpts { get; set; }
        public bool ImageOpts { get; set; }
        public bool ForceShare { get; set; }
        public long? Size { get; set; }
    }

    /// <summary>Runs the command; args[0] is "measure".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        var r = new Request();
        var g = new CommandOptions(args, ShortOptions, LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'O':
                    r.OutFormat = g.OptArg!;
                    break;
                case 'o':
                    r.Options = CreateCommand.AccumulateOptions(r.Options, g.OptArg!);
                    break;
                case 'l':
                    (r.SnapshotName, r.SnapshotOpts) = SnapshotParam.Parse(ctx, g.OptArg!);
                    break;
                case OptionCode.Output:
                    r.Json = OutputFormat.IsJson(g.OptArg);
                    break;
                case OptionCode.Size:
                    r.Size = QimgNumbers.Cvtnum("image size", g.OptArg!, QimgNumbers.WarnTo(ctx.Err));
                    break;
            }
        }
        (r.Format, r.ImageOpts, r.ForceShare) = (g.Format, g.ImageOpts, g.ForceShare);
        return Measure(ctx, r, g.Operands);
    }


    private static int Measure(ToolContext ctx, Request r, IReadOnlyList<string> operands)
    {
        if (operands.Count > 1)
        {
            throw new QimgException("At most one filename argument is allowed.");
        }
        string? filename = operands.Count == 1 ? operands[0] : null;
        if (filename is null && (r.ImageOpts || r.Format is not null || r.SnapshotName is not null || r.SnapshotOpts is not null))
        {
            throw new QimgException("--image-opts, -f, and -l require a filename argument.");
        }
        if (filename is not null && r.Size is not null)
        {
            throw new QimgException("--size N cannot be used together with a filename.");
        }
        if (filename is null && r.Size is null)
        {
            throw new QimgException("Either --size N or one filename must be specified.");
        }
        BlockDevice? source = null;
        try
        {
            long size;
            if (filename is not null)
            {
                source = OpenSource(ctx, filename, r);
                size = ChainStatus.QemuLength(source);
            }
            else
            {
                size = r.Size!.Value;
            }
            MeasureResult result = MeasureFormat(ctx, r, size, source);
            Print(ctx, r.Json, result);
        }
        finally
        {
            source?.Dispose();
        }
        return 0;
    }

    private static BlockDevice OpenSource(ToolContext ctx, string filename, Request r)
    {
        if (r.ImageOpts && r.Format is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        BlockDevice dev = ImageArgs.Open(ctx, filename, r.Format, r.ImageOpts, noBacking: false, r.ForceShare);
        try
        {
            LoadSnapshot(dev, r);
        }
        catch
        {
            dev.Dispose();
            throw;
        }
        return dev;
    }

    /// <summary>bdrv_snapshot_load_tmp for -l, with qemu-img's "Failed to load snapshot: " prefix.</summary>
    private static void LoadSnapshot(BlockDevice dev, Request r)
    {
        if (r.SnapshotName is null && r.SnapshotOpts is null)
        {
            return;
        }
        try
        {
            if (dev is not Qcow2Image q)
            {
                if (r.SnapshotOpts is (null, null))
                {
                    throw new SnapshotException("snapshot_id and name are both NULL", Errno.EINVAL);
                }
                throw new SnapshotException(
                    $"Block format '{dev.FormatName}' used by device '' does not support temporarily loading internal snapshots", Errno.ENOTSUP);
            }
            if (r.SnapshotOpts is { } sn)
            {
                q.LoadSnapshotTemporarily(sn.Id, sn.Name);
            }
            else
            {
                q.LoadSnapshotTemporarily(r.SnapshotName!);
            }
        }
        catch (SnapshotException e)
        {
            throw new QimgException($"Failed to load snapshot: {e.Message}");
        }
    }

    /// <summary>The output format's creation options, parsed as img_measure does, then its bdrv_measure.</summary>
    private static MeasureResult MeasureFormat(ToolContext ctx, Request r, long size, BlockDevice? source)
    {
        string fmt = r.OutFormat;
        if (!QemuFormatNames.IsKnown(fmt))
        {
            throw new QimgException($"Unknown file format '{fmt}'");
        }
        if (QemuCreatableFormats.LacksCreateOptions(fmt))
        {
            throw new QimgException($"Format driver '{fmt}' does not support image creation");
        }
        // The file protocol creates images but measures none.
        IReadOnlyList<OptDesc>? descs = fmt == "file" ? null : CreateOptionLists.ForFormat(fmt);
        if (descs is null)
        {
            throw new QimgException($"Block driver '{fmt}' does not support size measurement");
        }
        var opts = new QemuOpts(CreateOptionLists.Merge(descs)) { Warn = QimgNumbers.WarnTo(ctx.Err) };
        if (r.Options is not null)
        {
            try
            {
                opts.Parse(r.Options);
            }
            catch (ToolException e)
            {
                ctx.Err.Write($"{QimgTool.Name}: {e.Message}\n{e.Hint}");
                throw new QimgException($"Invalid options for file format '{fmt}'");
            }
        }
        opts.SetNumber("size", size);
        return fmt switch
        {
            "qcow2" => Qcow2Measure.Measure(ctx, opts, source),
            "luks" => MeasureLuks(opts, source),
            _ => MeasureRaw(opts, source),
        };
    }

    /// <summary>raw_measure: the image's length, or the requested size rounded up to a sector; unallocated sectors count too.</summary>
    private static MeasureResult MeasureRaw(QemuOpts opts, BlockDevice? source)
    {
        long required = source is not null
            ? ChainStatus.QemuLength(source)
            : Qcow2MeasureMath.RoundUp((long)opts.Get("size")!.Number, ChainStatus.SectorSize);
        return new MeasureResult(required, required, null);
    }

    /// <summary>block_crypto_measure: the LUKS area the options ask for (their secret looked up, as QEMU's trial create
    /// does) plus the image's length or the requested size as given (7.2 does not round it).</summary>
    private static MeasureResult MeasureLuks(QemuOpts opts, BlockDevice? source)
    {
        long size = source is not null ? ChainStatus.QemuLength(source) : (long)opts.Get("size")!.Number;
        long area = Crypto.LuksVolume.AreaLength(EncryptionOptions.ParseLuks(opts).Spec);
        return new MeasureResult(area + size, area + size, null);
    }

    private static void Print(ToolContext ctx, bool json, MeasureResult m)
    {
        if (!json)
        {
            ctx.Out.Write($"required size: {(ulong)m.Required}\n");
            ctx.Out.Write($"fully allocated size: {(ulong)m.FullyAllocated}\n");
            if (m.Bitmaps is long b)
            {
                ctx.Out.Write($"bitmaps size: {(ulong)b}\n");
            }
            return;
        }
        var d = new QDict().Add("required", m.Required).Add("fully-allocated", m.FullyAllocated).AddIf("bitmaps", m.Bitmaps);
        ctx.Out.Write(QJson.Pretty(d) + "\n");
    }
}
