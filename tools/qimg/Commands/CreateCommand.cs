using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg create: qemu-img create's options, checks, messages and "Formatting ..." line, for raw and qcow2.</summary>
public static class CreateCommand
{
    private static readonly IReadOnlyList<LongOption> LongOptions = [CommandOptions.Help, CommandOptions.Object];

    /// <summary>Runs the command; args[0] is "create".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        string? options = null;
        bool noBacking = false;
        var g = new CommandOptions(args, ":F:b:f:ho:qu", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'o':
                    options = AccumulateOptions(options, g.OptArg!);
                    break;
                case 'u':
                    noBacking = true;
                    break;
            }
        }
        string fmt = g.Format ?? "raw";
        IReadOnlyList<string> operands = g.Operands;
        string? filename = operands.Count > 0 ? operands[0] : null;
        if (options is not null && QemuOpts.HasHelpOption(options))
        {
            return PrintOptionHelp(ctx, filename, fmt);
        }
        if (filename is null)
        {
            throw new QimgUsageException("Expecting image file name");
        }
        long? imgSize = null;
        if (operands.Count > 1)
        {
            imgSize = QimgNumbers.Cvtnum("image size", operands[1], QimgNumbers.WarnTo(ctx.Err));
        }
        if (operands.Count > 2)
        {
            throw new QimgUsageException($"Unexpected argument: {operands[2]}");
        }
        try
        {
            ImgCreate(ctx, new CreateRequest(filename, fmt, g.OtherImage, g.OtherFormat, options, imgSize, noBacking, g.Quiet));
        }
        catch (ToolException e) when (e is not QimgUsageException)
        {
            throw new QimgException($"{filename}: {e.Message}", e.Hint, e.ExitCode);
        }
        return 0;
    }

    /// <summary>What one create command asks for.</summary>
    public sealed record CreateRequest(
        string Filename, string Format, string? BaseFile, string? BaseFormat, string? Options, long? Size, bool NoBacking, bool Quiet);

    /// <summary>qemu-img's accumulate_options: checks one -o argument and appends it to the list.</summary>
    public static string AccumulateOptions(string? options, string arg)
    {
        if (!QemuOpts.IsValidOptionList(arg))
        {
            throw new QimgException($"Invalid option list: {arg}");
        }
        return options is null ? arg : options + "," + arg;
    }

    /// <summary>print_block_option_help for -o help (create and convert).</summary>
    internal static int PrintOptionHelp(ToolContext ctx, string? filename, string fmt)
    {
        IReadOnlyList<OptDesc> descs = FormatCreator.FormatOptions(fmt);
        if (filename is not null)
        {
            descs = CreateOptionLists.Merge(descs);
            ctx.Out.Write("Supported options:\n");
        }
        else
        {
            ctx.Out.Write($"Supported {fmt} options:\n");
        }
        foreach (string line in QemuOpts.HelpLines(descs))
        {
            ctx.Out.Write(line + "\n");
        }
        if (filename is null)
        {
            ctx.Out.Write("\nThe protocol level may support further options.\nSpecify the target filename to include those options.\n");
        }
        return 0;
    }

    /// <summary>bdrv_img_create: checks the request, prints the Formatting line and creates the image.</summary>
    public static void ImgCreate(ToolContext ctx, CreateRequest r)
    {
        IReadOnlyList<OptDesc> formatDescs = FormatCreator.FormatOptions(r.Format);
        var opts = new QemuOpts(CreateOptionLists.Merge(formatDescs)) { Warn = QimgNumbers.WarnTo(ctx.Err) };
        if (r.Options is not null)
        {
            opts.Parse(r.Options);
        }
        if (!opts.Has("size"))
        {
            if (r.Size is long s)
            {
                opts.SetNumber("size", s);
            }
        }
        else if (r.Size is not null)
        {
            throw new QimgException("The image size must be specified only once");
        }
        bool hasBackingOpts = formatDescs.Any(d => d.Name == "backing_file");
        if (r.BaseFile is not null)
        {
            if (!hasBackingOpts)
            {
                throw new QimgException($"Backing file not supported for file format '{r.Format}'");
            }
            opts.Set("backing_file", r.BaseFile);
        }
        if (r.BaseFormat is not null)
        {
            if (!hasBackingOpts)
            {
                throw new QimgException($"Backing file format not supported for file format '{r.Format}'");
            }
            opts.Set("backing_fmt", r.BaseFormat);
        }
        string? backingFile = opts.GetString("backing_file");
        if (backingFile is not null)
        {
            if (backingFile == r.Filename)
            {
                throw new QimgException("Error: Trying to create an image with the same filename as the backing file");
            }
            if (backingFile.Length == 0)
            {
                throw new QimgException("Expected backing file name, got empty string");
            }
        }
        string? backingFmt = opts.GetString("backing_fmt");
        long size = opts.Get("size") is OptValue sv ? (long)sv.Number : -1;
        if (backingFile is not null && !r.NoBacking)
        {
            size = ProbeBacking(ctx, r.Filename, backingFile, backingFmt, size, opts);
        }
        else if (backingFile is not null && backingFmt is null)
        {
            throw new QimgException("Backing file specified without backing format");
        }
        if (size == -1)
        {
            throw new QimgException("Image creation needs a size parameter");
        }
        if (!r.Quiet)
        {
            ctx.Out.Write($"Formatting '{r.Filename}', fmt={r.Format} {opts.Print()}\n");
            ctx.Out.Flush();
        }
        FormatCreator.Create(ctx, r.Filename, r.Format, opts, size);
    }

    /// <summary>Opens the backing file as qemu-img does before creating an overlay; returns the size to use.</summary>
    private static long ProbeBacking(ToolContext ctx, string filename, string backingFile, string? backingFmt, long size, QemuOpts opts)
    {
        string full = ImageArgs.CombineBackingPath(filename, backingFile);
        BlockDevice dev;
        try
        {
            dev = ImageOpener.Open(full, new OpenOptions
            {
                Format = backingFmt,
                ReadOnly = true,
            }.ForTool(ctx));
        }
        catch (Exception e)
        {
            throw new QimgException(e.Message, "Could not open backing image.\n");
        }
        using (dev)
        {
            if (backingFmt is null)
            {
                throw new QimgException("Backing file specified without backing format", $"Detected format of {dev.FormatName}.");
            }
            if (size == -1)
            {
                size = dev.Size;
                opts.SetNumber("size", size);
            }
        }
        return size;
    }
}
