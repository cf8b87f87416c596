using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>A qimg subcommand: its name, its usage line for --help, and its entry point (args[0] is the command name).</summary>
public sealed record QimgCommand(string Name, string Syntax, Func<string[], ToolContext, int> Run);

/// <summary>
/// The table of subcommands, in qemu-img's order. New commands (check, snapshot, amend, resize, bench) are added
/// here, each in its own XxxCommand.cs with a Syntax constant and a Run(string[] args, ToolContext ctx) method.
/// </summary>
public static class QimgCommands
{
    /// <summary>Every command qimg implements.</summary>
    public static readonly IReadOnlyList<QimgCommand> All =
    [
        new("amend", AmendCommand.Syntax, AmendCommand.Run),
        new("bench", BenchCommand.Syntax, BenchCommand.Run),
        new("bitmap", BitmapCommand.Syntax, BitmapCommand.Run),
        new("check", CheckCommand.Syntax, CheckCommand.Run),
        new("commit", CommitCommand.Syntax, CommitCommand.Run),
        new("compare", CompareCommand.Syntax, CompareCommand.Run),
        new("convert", ConvertCommand.Syntax, ConvertCommand.Run),
        new("create", CreateCommand.Syntax, CreateCommand.Run),
        new("dd", DdCommand.Syntax, DdCommand.Run),
        new("info", InfoCommand.Syntax, InfoCommand.Run),
        new("map", MapCommand.Syntax, MapCommand.Run),
        new("measure", MeasureCommand.Syntax, MeasureCommand.Run),
        new("snapshot", SnapshotCommand.Syntax, SnapshotCommand.Run),
        new("rebase", RebaseCommand.Syntax, RebaseCommand.Run),
        new("resize", ResizeCommand.Syntax, ResizeCommand.Run),
    ];

    /// <summary>The command with that exact name, or null.</summary>
    public static QimgCommand? Find(string name) => All.FirstOrDefault(c => c.Name == name);
}
