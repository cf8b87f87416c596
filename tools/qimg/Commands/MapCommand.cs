using System.Globalization;
using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg map: qemu-img map's extents, merged as qemu-img merges them, in human or JSON form.</summary>
public static class MapCommand
{
    private static readonly IReadOnlyList<LongOption> LongOptions =
    [
        CommandOptions.Help,
        CommandOptions.Object,
        CommandOptions.FormatOption,
        CommandOptions.OutputOption,
        CommandOptions.ImageOptsOption,
        CommandOptions.ForceShareOption,
        new("start-offset", ArgKind.Required, 's'),
        new("max-length", ArgKind.Required, 'l'),
    ];

    /// <summary>One merged extent (qemu-img's MapEntry).</summary>
    public sealed class Entry
    {
        /// <summary>Guest offset.</summary>
        public long Start { get; set; }

        /// <summary>Length in bytes.</summary>
        public long Length { get; set; }

        /// <summary>Reads from some file.</summary>
        public bool Data { get; set; }

        /// <summary>Reads as zeros.</summary>
        public bool Zero { get; set; }

        /// <summary>Host offset, when valid.</summary>
        public long? Offset { get; set; }

        /// <summary>Layer depth.</summary>
        public long Depth { get; set; }

        /// <summary>Allocated in the layer that answered.</summary>
        public bool Present { get; set; }

        /// <summary>File of the layer, when the offset is valid.</summary>
        public string? Filename { get; set; }

        /// <summary>qemu-img's entry_mergeable: next continues this entry with the same properties.</summary>
        public bool Mergeable(Entry next)
        {
            if (Length == 0)
            {
                return false;
            }
            if (Zero != next.Zero || Data != next.Data || Depth != next.Depth || Present != next.Present
                || (Filename is null) != (next.Filename is null) || (Offset is null) != (next.Offset is null))
            {
                return false;
            }
            if (Filename is not null && Filename != next.Filename)
            {
                return false;
            }
            return Offset is not long o || o + Length == next.Offset;
        }

        /// <summary>The JSON line (without separator).</summary>
        public string ToJson()
        {
            string s = string.Create(CultureInfo.InvariantCulture,
                $"{{ \"start\": {Start}, \"length\": {Length}, \"depth\": {Depth}, \"present\": {B(Present)}, \"zero\": {B(Zero)}, \"data\": {B(Data)}");
            if (Offset is long o)
            {
                s += string.Create(CultureInfo.InvariantCulture, $", \"offset\": {o}");
            }
            return s + "}";
        }

        private static string B(bool b) => b ? "true" : "false";
    }

    /// <summary>Runs the command; args[0] is "map".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        long startOffset = 0;
        long maxLength = -1;
        var g = new CommandOptions(args, ":f:hU", LongOptions, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 's':
                    startOffset = QimgNumbers.Cvtnum("start offset", g.OptArg!, QimgNumbers.WarnTo(ctx.Err));
                    break;
                case 'l':
                    maxLength = QimgNumbers.Cvtnum("max length", g.OptArg!, QimgNumbers.WarnTo(ctx.Err));
                    break;
            }
        }
        string filename = g.OneImage();
        bool json = OutputFormat.IsJson(g.Output);
        if (g.ImageOpts && g.Format is not null)
        {
            throw new QimgException("--image-opts and --format are mutually exclusive");
        }
        using BlockDevice dev = ImageArgs.Open(ctx, filename, g.Format, g.ImageOpts, noBacking: false, g.ForceShare);
        // get_block_status starts below the filters over the image (bdrv_skip_filters), so their child's backing chain counts.
        BlockDevice mapped = dev;
        while (mapped is FilterDevice filter)
        {
            mapped = filter.Child;
        }
        using var chain = new ChainStatus(ctx, mapped, g.ImageOpts ? dev.FileName : filename,
            BlockNodeName.OfDataNode(ImageArgs.NodeRequest(dev, filename, g.Format, g.ImageOpts, noIo: false)));
        ctx.Out.Write(json ? "[" : string.Create(CultureInfo.InvariantCulture, $"{"Offset",-16}{"Length",-16}{"Mapped to",-16}File\n"));
        long length = ChainStatus.QemuLength(dev);
        if (maxLength != -1)
        {
            length = Math.Min(startOffset + maxLength, length);
        }
        var curr = new Entry { Start = startOffset };
        while (curr.Start + curr.Length < length)
        {
            long offset = curr.Start + curr.Length;
            Entry next;
            try
            {
                next = chain.Get(offset, length - offset);
            }
            catch (BlockIOException e)
            {
                throw new QimgException($"Could not read file metadata: {e.Message}");
            }
            if (next.Length <= 0)
            {
                throw new QimgException($"Could not read file metadata: {ErrnoText.Of(Errno.EIO)}");
            }
            if (curr.Mergeable(next))
            {
                curr.Length += next.Length;
                continue;
            }
            if (curr.Length > 0)
            {
                Dump(ctx, json, curr, next);
            }
            curr = next;
        }
        Dump(ctx, json, curr, null);
        if (json)
        {
            ctx.Out.Write("]\n");
        }
        return 0;
    }

    /// <summary>qemu-img's dump_map_entry, including the human form's coalescing of non-data entries into the next one.</summary>
    private static void Dump(ToolContext ctx, bool json, Entry e, Entry? next)
    {
        if (json)
        {
            ctx.Out.Write(e.ToJson());
            if (next is not null)
            {
                ctx.Out.Write(",\n");
            }
            return;
        }
        if (e.Data && e.Offset is null)
        {
            throw new QimgException("File contains external, encrypted or compressed clusters.");
        }
        if (e.Data && !e.Zero)
        {
            ctx.Out.Write($"{Hex(e.Start),-16}{Hex(e.Length),-16}{Hex(e.Offset ?? 0),-16}{e.Filename ?? ""}\n");
        }
        if (next is not null && (!next.Data || next.Zero) && (!e.Data || e.Zero))
        {
            next.Start = e.Start;
            next.Length += e.Length;
        }
    }

    /// <summary>C's "%#x": 0 without prefix, else 0x and lower-case digits.</summary>
    public static string Hex(long v) => v == 0 ? "0" : "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}
