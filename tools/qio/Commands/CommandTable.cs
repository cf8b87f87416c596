namespace Qcow2.Tools.Qio.Commands;

/// <summary>All commands, sorted by name as qemu-io keeps them.</summary>
internal static class CommandTable
{
    /// <summary>The commands in name order.</summary>
    public static readonly IReadOnlyList<CommandInfo> All = new List<CommandInfo>
    {
        new("abort", null, MiscCommands.Abort, 0, 0, null, "simulate a program crash using abort(3)", Scope: CommandScope.NoFileOk),
        new("aio_flush", null, AioCommands.AioFlush, 0, 0, null, "completes all outstanding aio requests"),
        AioCommands.AioReadInfo,
        AioCommands.AioWriteInfo,
        new("alloc", "a", StatusCommands.Alloc, 1, 2, "offset [count]", "checks if offset is allocated in the file"),
        new("break", null, DebugCommands.Break, 2, 2, "event tag", "sets a breakpoint on event and tags the stopped request as tag"),
        new("close", "c", FileCommands.Close, 0, 0, null, "close the current open file"),
        MiscCommands.DiscardInfo,
        new("flush", "f", MiscCommands.Flush, 0, 0, null, "flush all in-core file state to disk"),
        new("help", "?", MiscCommands.Help, 0, 1, "[command]", "help for one or all commands", Scope: CommandScope.Global),
        new("info", "i", StatusCommands.Info, 0, 0, null, "prints information about the current file"),
        new("length", "l", StatusCommands.Length, 0, 0, null, "gets the length of the current file"),
        new("map", null, StatusCommands.Map, 0, 0, "", "prints the allocated areas of a file"),
        FileCommands.OpenInfo,
        new("quit", "q", MiscCommands.Quit, -1, -1, null, "exit the program", Scope: CommandScope.Global),
        IoCommands.ReadInfo,
        IoCommands.ReadvInfo,
        new("remove_break", null, DebugCommands.RemoveBreak, 1, 1, "tag", "remove a breakpoint by tag"),
        FileCommands.ReopenInfo,
        new("resume", null, DebugCommands.Resume, 1, 1, "tag", "resumes the request tagged as tag"),
        new("sigraise", null, MiscCommands.Sigraise, 1, 1, "signal", "raises a signal", HelpTexts.Sigraise, CommandScope.NoFileOk),
        new("sleep", null, MiscCommands.Sleep, 1, 1, null, "waits for the given value in milliseconds", Scope: CommandScope.NoFileOk),
        MiscCommands.TruncateInfo,
        new("wait_break", null, DebugCommands.WaitBreak, 1, 1, "tag", "waits for the suspension of a request"),
        IoCommands.WriteInfo,
        IoCommands.WritevInfo,
    };

    /// <summary>Finds a command by name or alias.</summary>
    public static CommandInfo? Find(string name) => All.FirstOrDefault(c => c.Name == name || c.AltName == name);
}
