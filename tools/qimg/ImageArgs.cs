using Qcow2;
using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>Opens the image a command names, as qemu-img's img_open does, turning engine failures into its messages.</summary>
public static class ImageArgs
{
    /// <summary>
    /// Opens filename (or, with imageOpts, the key=value list naming it) read-only; throws
    /// "Could not open 'NAME': REASON" as qemu-img reports it.
    /// </summary>
    public static BlockDevice Open(ToolContext ctx, string filename, string? format, bool imageOpts, bool noBacking, bool forceShare = false, bool noShare = false)
    {
        var options = new OpenOptions
        {
            Format = format,
            ReadOnly = true,
            NoBacking = noBacking,
            // Only qemu-img info opens without the backing chain, and it also passes BDRV_O_NO_IO.
            NoIo = noBacking,
            ForceShare = forceShare,
            NoShare = noShare,
        }.ForTool(ctx);
        string file = filename;
        if (imageOpts)
        {
            file = ApplyImageOpts(filename, options);
        }
        return OpenFile(ctx, file, options, warnProbedRaw: false, imageOpts ? filename : null);
    }

    /// <summary>
    /// Opens file with options, turning engine failures into qemu-img's "Could not open 'NAME': REASON"; with
    /// warnProbedRaw, a writable image whose format was probed as raw gets QEMU's warning about block 0. NAME is
    /// <paramref name="shownAs"/> when given: the option list of --image-opts, as qemu-img names the image then.
    /// </summary>
    public static BlockDevice OpenFile(ToolContext ctx, string file, OpenOptions options, bool warnProbedRaw, string? shownAs = null)
    {
        BlockDevice dev = OpenOrSay(file, options, $"Could not open '{shownAs ?? file}'");
        if (warnProbedRaw && options.Format is null && dev is RawDevice)
        {
            ctx.Err.Write($"WARNING: Image format was not specified for '{file}' and probing guessed raw.\n"
                + "         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
                + "         Specify the 'raw' format explicitly to remove the restrictions.\n");
        }
        return dev;
    }

    /// <summary>Opens path with options; an engine failure becomes "WHAT: REASON", WHAT being how qemu-img names the attempt.</summary>
    public static BlockDevice OpenOrSay(string path, OpenOptions options, string what)
    {
        try
        {
            return ImageOpener.Open(path, options);
        }
        catch (Exception e) when (e is not QimgException)
        {
            throw new QimgException($"{what}: {e.Message}");
        }
    }

    /// <summary>Reads an --image-opts list (driver=..., file.filename=..., other image options) into options; returns the file name.</summary>
    public static string ApplyImageOpts(string list, OpenOptions options)
    {
        string? file = null;
        foreach (var (key, value) in ParseImageOpts(list))
        {
            switch (key)
            {
                case "driver":
                    options.Format = value;
                    break;
                case "file.filename" or "filename" or "file":
                    file = value;
                    options.LiteralFileName = true;
                    break;
                case "file.driver" when value == "file":
                    break;
                default:
                    options.Options[key] = value;
                    break;
            }
        }
        if (file is null && options.Options.GetValueOrDefault("file.driver") == "blkdebug"
            && (options.Options.Remove("file.image.filename", out string? image) || options.Options.Remove("file.x-image", out image)))
        {
            // blkdebug's child named "image" is the image file.
            file = image;
            options.LiteralFileName = true;
            if (options.Options.GetValueOrDefault("file.image.driver") == "file")
            {
                options.Options.Remove("file.image.driver");
            }
        }
        return file ?? (ImageOpener.DescribesNodes(options.Format, options.Options) ? ""
            : throw new QimgException($"Could not open '{list}': {ImageOpener.MissingFileError(options.Options)}"));
    }

    /// <summary>The key=value pairs of an --image-opts list, in the order given; QEMU's errors for a list that is not one.</summary>
    public static List<KeyValuePair<string, string>> ParseImageOpts(string list)
    {
        if (!list.Contains('='))
        {
            throw new QimgException($"Could not open '{list}': Cannot find device='{list}' nor node-name='{list}'");
        }
        var pairs = new List<KeyValuePair<string, string>>();
        int p = 0;
        while (p < list.Length)
        {
            int eq = list.IndexOf('=', p);
            int comma = list.IndexOf(',', p);
            if (eq < 0 || (comma >= 0 && comma < eq))
            {
                throw new QimgException($"Invalid parameter '{list[p..(comma < 0 ? list.Length : comma)]}'");
            }
            string key = list[p..eq];
            p = OptionString.ReadValue(list, eq + 1, out string value);
            if (p < list.Length)
            {
                p++;
            }
            pairs.Add(new(key, value));
        }
        return pairs;
    }

    /// <summary>bs->filename of an opened image as QEMU names it (<see cref="BlockNodeName"/>).</summary>
    public static string NodeName(BlockDevice dev, string filename, string? format, bool imageOpts, bool noIo) =>
        BlockNodeName.Of(NodeRequest(dev, filename, format, imageOpts, noIo));

    /// <summary>What the open of an image asked for, for <see cref="BlockNodeName"/>: filename is the image argument (the
    /// option list with imageOpts); noIo for qemu-img info's open without the backing chain.</summary>
    public static NodeOpenRequest NodeRequest(BlockDevice dev, string filename, string? format, bool imageOpts, bool noIo)
    {
        var options = imageOpts
            ? ParseImageOpts(filename).ConvertAll(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value))
            : [];
        var q = dev as Qcow2Image;
        var headers = new Dictionary<string, (string? Backing, string? Format)>(StringComparer.Ordinal);
        string prefix = "";
        for (var inner = q?.FileChild as Qcow2Image; inner is not null; inner = inner.FileChild as Qcow2Image)
        {
            prefix += "file.";
            headers[prefix] = (inner.BackingFileName, inner.BackingFormat);
        }
        return new NodeOpenRequest(imageOpts ? null : filename, format, options, dev.FormatName, noIo, q?.BackingFileName, q?.BackingFormat)
        {
            ChildHeaders = headers,
        };
    }

    /// <summary>qemu's path_combine for a backing file name relative to the image that names it.</summary>
    public static string CombineBackingPath(string imageFileName, string backing) => Qcow2Image.QemuBackingName(imageFileName, backing);
}
