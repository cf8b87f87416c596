using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg amend: qemu-img 7.2's img_amend (change compat, refcount width, lazy refcounts, size or the LUKS keyslots of a qcow2 image).</summary>
public static class AmendCommand
{
    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        .. CommandOptions.Common,
        new("force", ArgKind.None, OptionCode.Force),
    ];

    /// <summary>qcow2's amend options (qcow2_amend_opts: the LUKS ones, then the common ones), in QEMU's order.</summary>
    public static readonly IReadOnlyList<OptDesc> Qcow2Amend =
    [
        new("encrypt.state", OptType.String, "Select new state of affected keyslots (active/inactive)"),
        new("encrypt.keyslot", OptType.Number, "Select a single keyslot to modify explicitly"),
        new("encrypt.old-secret", OptType.String, "Select all keyslots that match this password"),
        new("encrypt.new-secret", OptType.String, "New secret to set in the matching keyslots. Empty string to erase"),
        new("encrypt.iter-time", OptType.Number, "Time to spend in PBKDF in milliseconds"),
        .. CreateOptionLists.Qcow2Common,
    ];

    /// <summary>The luks driver's amend options (block_crypto_amend_opts_luks): qcow2's keyslot options without the prefix.</summary>
    public static readonly IReadOnlyList<OptDesc> LuksAmend =
        Qcow2Amend.Where(d => d.Name.StartsWith("encrypt.", StringComparison.Ordinal))
            .Select(d => d with { Name = d.Name["encrypt.".Length..] }).ToList();

    /// <summary>Runs the command; args[0] is "amend".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        string? options = null;
        bool force = false;
        var g = new CommandOptions(args, ":ho:f:t:pq", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'o':
                    options = CreateCommand.AccumulateOptions(options, g.OptArg!);
                    break;
                case OptionCode.Force:
                    // Only keyslot changes look at --force.
                    force = true;
                    break;
            }
        }
        if (options is null)
        {
            throw new QimgUsageException("Must specify options (-o)");
        }
        var bar = new Progress(ctx, g.ShowProgress);
        try
        {
            return Amend(ctx, g, options, force, bar);
        }
        finally
        {
            bar.End();
        }
    }

    private static int Amend(ToolContext ctx, CommandOptions g, string options, bool force, Progress bar)
    {
        string? fmt = g.Format;
        string cache = g.Cache ?? CacheModes.Default;
        bool imageOpts = g.ImageOpts;
        string? filename = g.Operands.Count == 1 ? g.Operands[0] : null;
        if (fmt is not null && QemuOpts.HasHelpOption(options))
        {
            return PrintHelp(ctx, fmt);
        }
        if (filename is null)
        {
            throw new QimgException("Expecting one image file name");
        }
        bool writeThrough = cache switch
        {
            "writeback" or "none" or "unsafe" => false,
            "writethrough" or "directsync" => true,
            _ => throw new QimgException($"Invalid cache option: {cache}"),
        };
        using BlockDevice dev = SnapshotCommand.OpenImage(ctx, filename, fmt, imageOpts, writable: true, forceShare: false);
        if (QemuOpts.HasHelpOption(options))
        {
            return PrintHelp(ctx, dev.FormatName);
        }
        if (dev is LuksDevice luks)
        {
            return AmendLuks(ctx, luks, options, force, bar);
        }
        if (dev is not Qcow2Image image)
        {
            throw new QimgException($"Format driver '{dev.FormatName}' does not support option amendment");
        }
        _ = writeThrough;
        var opts = ParseAmendOptions(ctx, options);
        var request = new AmendRequest
        {
            Encrypt = EncryptOptions(opts),
            Force = force,
            Size = opts.Get("size")?.Number,
            Compat = opts.GetString("compat"),
            BackingFile = opts.GetString("backing_file"),
            BackingFormat = opts.GetString("backing_fmt"),
            DataFile = opts.GetString("data_file"),
            DataFileRaw = opts.Get("data_file_raw")?.Flag,
            LazyRefcounts = opts.Get("lazy_refcounts")?.Flag,
            RefcountBits = opts.Get("refcount_bits")?.Number,
        };
        return Apply(ctx, bar, () => image.Amend(request, (offset, total) => bar.Print(100f * offset / total)));
    }

    /// <summary>Runs the change between the progress bar's 0 and 100%, with qemu-img's messages (and the reports QEMU
    /// printed on the way) when it fails.</summary>
    private static int Apply(ToolContext ctx, Progress bar, Action change)
    {
        bar.Print(0);
        try
        {
            change();
        }
        catch (ImageChangeException e)
        {
            bar.Print(100);
            foreach (string line in e.Reports)
            {
                ctx.Err.Write($"{QimgTool.Name}: {line}\n");
            }
            throw new QimgException(e.Message, e.Hint);
        }
        catch (BlockIOException e)
        {
            bar.Print(100);
            throw new QimgException(e.Message);
        }
        bar.Print(100);
        return 0;
    }

    /// <summary>block_crypto_amend_options_luks: the keyslot options, then the change on the unlocked volume.</summary>
    private static int AmendLuks(ToolContext ctx, LuksDevice luks, string options, bool force, Progress bar)
    {
        var opts = new QemuOpts(LuksAmend) { Warn = QimgNumbers.WarnTo(ctx.Err) };
        opts.Parse(options);
        var given = LuksAmend.Where(d => opts.Has(d.Name)).ToDictionary(d => d.Name, d => opts.GetString(d.Name)!, StringComparer.Ordinal);
        return Apply(ctx, bar, () => luks.Amend(given, force));
    }

    /// <summary>The encrypt.* options given (qcow2_extract_crypto_opts), by name without the prefix, or null when none was given.</summary>
    private static Dictionary<string, string>? EncryptOptions(QemuOpts opts)
    {
        const string Prefix = "encrypt.";
        var given = Qcow2Amend.Where(d => d.Name.StartsWith(Prefix, StringComparison.Ordinal) && opts.Has(d.Name))
            .ToDictionary(d => d.Name[Prefix.Length..], d => opts.GetString(d.Name)!, StringComparer.Ordinal);
        return given.Count == 0 ? null : given;
    }

    /// <summary>Parses the -o options against qcow2's amend list; one only creation knows gets a hint saying so.</summary>
    private static QemuOpts ParseAmendOptions(ToolContext ctx, string options)
    {
        var opts = new QemuOpts(Qcow2Amend) { Warn = QimgNumbers.WarnTo(ctx.Err) };
        try
        {
            opts.Parse(options);
        }
        catch (ToolException e)
        {
            // An option qcow2 only knows at creation gets a hint saying so.
            var all = new QemuOpts(Qcow2Amend.Concat(CreateOptionLists.Qcow2Format.Where(d => Qcow2Amend.All(a => a.Name != d.Name))).ToList());
            string? hint = e.Hint;
            try
            {
                all.Parse(options);
                hint += "This option is only supported for image creation\n";
            }
            catch (ToolException)
            {
            }
            throw new QimgException(e.Message, hint);
        }
        return opts;
    }

    private static int PrintHelp(ToolContext ctx, string format)
    {
        if (format is not ("qcow2" or "luks"))
        {
            throw new QimgException(QemuFormatNames.IsKnown(format)
                ? $"Format driver '{format}' does not support option amendment"
                : $"Unknown file format '{format}'");
        }
        ctx.Out.Write($"Amend options for '{format}':\n");
        foreach (string line in QemuOpts.HelpLines(format == "luks" ? LuksAmend : Qcow2Amend))
        {
            ctx.Out.Write(line + "\n");
        }
        return 0;
    }

    /// <summary>qemu-progress's simple printer: "    (P/100%)\r" when the percentage moves, a newline at the end.</summary>
    private sealed class Progress(ToolContext ctx, bool enabled)
    {
        private float _last;

        public void Print(float current)
        {
            if (!enabled)
            {
                return;
            }
            current = Math.Min(current, 100f);
            if (current > _last + 1 || current < _last - 1 || current == 0 || current == 100)
            {
                _last = current;
                // printf's %.2f rounds the exact binary value, ties to even; a float times 100 is exact in a double.
                long hundredths = (long)Math.Round((double)current * 100, MidpointRounding.ToEven);
                ctx.Out.Write(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"    ({hundredths / 100}.{hundredths % 100:00}/100%)\r"));
                ctx.Out.Flush();
            }
        }

        public void End()
        {
            if (enabled)
            {
                ctx.Out.Write("\n");
            }
        }
    }
}
