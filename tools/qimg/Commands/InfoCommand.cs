using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg info: qemu-img info's options, human and JSON output, --backing-chain.</summary>
public static class InfoCommand
{
    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        CommandOptions.Help,
        CommandOptions.Object,
        CommandOptions.FormatOption,
        CommandOptions.OutputOption,
        new("backing-chain", ArgKind.None, OptionCode.BackingChain),
        CommandOptions.ImageOptsOption,
        CommandOptions.ForceShareOption,
    ];

    /// <summary>Runs the command; args[0] is "info".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        bool chain = false;
        var g = new CommandOptions(args, ":f:hU", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            chain |= c == OptionCode.BackingChain;
        }
        string filename = g.OneImage();
        bool json = OutputFormat.IsJson(g.Output);
        List<ImageInfo> list = Collect(ctx, filename, g.Format, g.ImageOpts, chain, g.ForceShare);
        if (json)
        {
            object value = chain ? list.Select(i => (object)i.ToQDict()).ToList() : list[0].ToQDict();
            ctx.Out.Write(QJson.Pretty(value) + "\n");
        }
        else
        {
            ctx.Out.Write(string.Join("\n", list.Select(i => i.ToHuman())));
        }
        return 0;
    }

    /// <summary>collect_image_info_list: the image and, with chain, each backing file opened in turn by its resolved name.</summary>
    public static List<ImageInfo> Collect(ToolContext ctx, string filename, string? fmt, bool imageOpts, bool chain, bool forceShare = false)
    {
        var list = new List<ImageInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? name = filename;
        while (name is not null)
        {
            if (!seen.Add(name))
            {
                throw new QimgException($"Backing file '{name}' creates an infinite loop.");
            }
            if (imageOpts && fmt is not null)
            {
                throw new QimgException("--image-opts and --format are mutually exclusive");
            }
            ImageInfo info;
            using (BlockDevice dev = ImageArgs.Open(ctx, name, fmt, imageOpts, noBacking: true, forceShare))
            {
                // QEMU's name for the node tree (bs->filename); backing names resolve against the image file's own name.
                info = ImageInfo.Query(dev, ImageArgs.NodeName(dev, name, fmt, imageOpts, noIo: true), dev.FileName);
            }
            list.Add(info);
            name = null;
            fmt = null;
            imageOpts = false;
            if (chain)
            {
                name = info.FullBackingFilename;
                fmt = info.BackingFilenameFormat;
            }
        }
        return list;
    }
}
