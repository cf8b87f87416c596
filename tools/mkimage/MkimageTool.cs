using Qcow2.Cli;

namespace Qcow2.Tools.Mkimage;

/// <summary>Entry point of mkimage, callable in-process with its own streams.</summary>
public static class MkimageTool
{
    private sealed record Command(string Name, int ArgCount, bool Writes, string Description,
        Action<Func<ImageFile>, string[], ToolContext> Handler);

    private static readonly Command[] Commands =
    [
        new("dump-header", 0, false, "Dump image header and header extensions",
            (open, a, ctx) => { using var f = open(); DumpHeader.Header(f, ctx.Out); }),
        new("dump-header-exts", 0, false, "Dump image header extensions",
            (open, a, ctx) => { using var f = open(); DumpHeader.Extensions(f, ctx.Out); }),
        new("set-header", 2, true, "Set a field in the header",
            (open, a, ctx) => HeaderCommands.SetHeader(open, a[0], a[1])),
        new("add-header-ext", 2, true, "Add a header extension",
            (open, a, ctx) => HeaderCommands.AddHeaderExt(open, a[0], a[1])),
        new("add-header-ext-stdio", 1, true, "Add a header extension, data from stdin",
            (open, a, ctx) => HeaderCommands.AddHeaderExt(open, a[0], ctx.In.ReadToEnd())),
        new("del-header-ext", 1, true, "Delete a header extension",
            (open, a, ctx) => HeaderCommands.DelHeaderExt(open, a[0], ctx.Out)),
        new("set-feature-bit", 2, true, "Set a feature bit",
            (open, a, ctx) => HeaderCommands.SetFeatureBit(open, a[0], a[1])),
        new("poke", 2, true, "Write VALUE into a named structure field (" + StructurePath.Forms + ")",
            (open, a, ctx) => Poke.PokeNamed(open, a[0], a[1])),
        new("peek", 1, false, "Print a named structure field in hex",
            (open, a, ctx) => Poke.PeekNamed(open, a[0], ctx.Out)),
        new("poke-raw", 2, true, "Write printf-style BYTES (e.g. '\\x80\\x00') at OFFSET",
            (open, a, ctx) => Poke.PokeRaw(open, a[0], a[1])),
        new("peek-raw", 2, false, "Print LEN bytes at OFFSET in hex",
            (open, a, ctx) => Poke.PeekRaw(open, a[0], a[1], ctx.Out)),
    ];

    /// <summary>Commands that create the image rather than open it.</summary>
    private static readonly Command BuildCommand = new("build", 1, true, "Create a qcow2 image from a description: " + Build.Syntax,
        (open, a, ctx) => throw new InvalidOperationException("build does not open an existing image"));

    /// <summary>Runs mkimage with the given arguments; returns the exit code.</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        if (args.Length == 1 && args[0] is "-h" or "--help")
        {
            Usage(ctx.Out);
            return 0;
        }
        if (args.Length < 2)
        {
            Usage(ctx.Err);
            return 1;
        }
        string image = args[0];
        string name = args[1];
        var rest = args[2..];
        var cmd = name == BuildCommand.Name ? BuildCommand : Array.Find(Commands, c => c.Name == name);
        try
        {
            if (cmd == BuildCommand && rest.Length == 1)
            {
                Build.Run(ctx.Resolve(image), rest[0]);
                return 0;
            }
            if (cmd == null)
            {
                throw new MkimageException($"Unknown command '{name}' (try 'mkimage --help')");
            }
            if (rest.Length != cmd.ArgCount)
            {
                throw new MkimageException(
                    $"{name} takes {cmd.ArgCount} argument{(cmd.ArgCount == 1 ? "" : "s")}, not {rest.Length} (try 'mkimage --help')");
            }
            cmd.Handler(() => ImageFile.Open(ctx.Resolve(image), image, cmd.Writes), rest, ctx);
            return 0;
        }
        catch (Qcow2PyExitException e)
        {
            ctx.Out.WriteLine(e.Message);
            return 1;
        }
        catch (MkimageException e)
        {
            ctx.Err.WriteLine("mkimage: " + e.Message);
            return 1;
        }
        catch (Exception e) when (e is ImageOpenException or BlockIOException or CorruptImageException or IOException
            or UnauthorizedAccessException)
        {
            ctx.Err.WriteLine($"mkimage: {image}: {e.Message}");
            return 1;
        }
    }

    private static void Usage(TextWriter w)
    {
        w.WriteLine("Usage: mkimage <file> <cmd> [<arg>, ...]");
        w.WriteLine();
        w.WriteLine("Supported commands:");
        foreach (var c in Commands.Append(BuildCommand))
        {
            w.WriteLine($"    {c.Name,-20} - {c.Description}");
        }
    }
}
