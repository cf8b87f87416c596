namespace Qcow2.Tools.Qio.Commands;

/// <summary>How a command may be run without an open image.</summary>
internal enum CommandScope
{
    /// <summary>Needs an open image.</summary>
    File,

    /// <summary>Runs without an open image (open, sleep).</summary>
    NoFileOk,

    /// <summary>Global command (help, quit).</summary>
    Global,
}

/// <summary>One qemu-io command: names, argument counts, help, and what it needs (qemu-io's cmdinfo_t).</summary>
/// <param name="Name">command name</param>
/// <param name="AltName">one-letter alias, if any</param>
/// <param name="Run">implementation: returns 0 or a negative errno</param>
/// <param name="ArgMin">least number of arguments (-1: no check)</param>
/// <param name="ArgMax">most arguments (-1: unlimited)</param>
/// <param name="Args">argument synopsis, null when none</param>
/// <param name="OneLine">one-line description</param>
/// <param name="Help">extended help, null when none</param>
/// <param name="Scope">whether an image must be open</param>
/// <param name="NeedsWrite">whether the command needs write permission on the image</param>
internal sealed record CommandInfo(
    string Name, string? AltName, Func<QioSession, string[], int> Run, int ArgMin, int ArgMax,
    string? Args, string OneLine, string? Help = null, CommandScope Scope = CommandScope.File, bool NeedsWrite = false)
{
    /// <summary>The usage line "name args -- oneline" printed on bad options.</summary>
    public string Usage => $"{Name} {Args ?? "(null)"} -- {OneLine}";
}
