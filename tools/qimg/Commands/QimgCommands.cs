using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>A qimg subcommand: its name, its usage line for --help, and its entry point (args[0] is the command name).</summary>
public sealed record QimgCommand(string Name, string Syntax, Func<string[], ToolContext, int> Run);

/// <summary>
/// The table of subcommands, in qemu-img's order. New commands (check, snapshot, amend, resize, bench) are added
/// here, each in its own XxxCommand.cs with a Run(string[] args, ToolContext ctx) method; the usage lines live
/// here, as qemu-img's live in its one table (qemu-img-cmds.hx).
/// </summary>
public static class QimgCommands
{
    /// <summary>Every command qimg implements.</summary>
    public static readonly IReadOnlyList<QimgCommand> All =
    [
        new("amend", "amend [--object objectdef] [--image-opts] [-p] [-q] [-f fmt] [-t cache] [--force] -o options filename", AmendCommand.Run),
        // bench: qemu-img's usage line does not list --image-opts, although bench accepts it.
        new("bench", "bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-i aio] [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename", BenchCommand.Run),
        new("bitmap", "bitmap (--merge SOURCE | --add | --remove | --clear | --enable | --disable)... [-b source_file [-F source_fmt]] [-g granularity] [--object objectdef] [--image-opts | -f fmt] filename bitmap", BitmapCommand.Run),
        new("check", "check [--object objectdef] [--image-opts] [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U] filename", CheckCommand.Run),
        new("commit", "commit [--object objectdef] [--image-opts] [-q] [-f fmt] [-t cache] [-b base] [-r rate_limit] [-d] [-p] filename", CommitCommand.Run),
        new("compare", "compare [--object objectdef] [--image-opts] [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1 filename2", CompareCommand.Run),
        new("convert", "convert [--object objectdef] [--image-opts] [--target-image-opts] [--target-is-zero] [--bitmaps] [-U] [-C] [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] [-r rate_limit] [-m num_coroutines] [-W] [--salvage] filename [filename2 [...]] output_filename", ConvertCommand.Run),
        new("create", "create [--object objectdef] [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]", CreateCommand.Run),
        new("dd", "dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] if=input of=output", DdCommand.Run),
        new("info", "info [--object objectdef] [--image-opts] [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename", InfoCommand.Run),
        new("map", "map [--object objectdef] [--image-opts] [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] filename", MapCommand.Run),
        new("measure", "measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [--object objectdef] [--image-opts] [-f fmt] [-l snapshot_param] filename]", MeasureCommand.Run),
        new("snapshot", "snapshot [--object objectdef] [--image-opts] [-U] [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename", SnapshotCommand.Run),
        new("rebase", "rebase [--object objectdef] [--image-opts] [-U] [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename", RebaseCommand.Run),
        new("resize", "resize [--object objectdef] [--image-opts] [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size", ResizeCommand.Run),
    ];

    /// <summary>The command with that exact name, or null.</summary>
    public static QimgCommand? Find(string name) => All.FirstOrDefault(c => c.Name == name);
}
