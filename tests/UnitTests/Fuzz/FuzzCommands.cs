namespace Qcow2.UnitTests.Fuzz;

/// <summary>One tool command run on every mutant: the tool, its arguments (the image is t.img) and whether it may write the image.</summary>
/// <param name="Tool">"qimg" or "qio"</param>
/// <param name="Args">the arguments</param>
/// <param name="Writes">true when the command opens the image read-write (it then runs on a fresh copy)</param>
internal sealed record FuzzCommand(string Tool, string[] Args, bool Writes)
{
    /// <summary>The command line, for reports.</summary>
    public override string ToString() => $"{Tool} {string.Join(' ', Args.Select(a => a.Length == 0 ? "\"\"" : a.Contains(' ') ? $"'{a}'" : a))}";
}

/// <summary>The commands of the fuzzer: every qimg command that opens an existing image, and qio reading and writing.</summary>
internal static class FuzzCommands
{
    /// <summary>Commands that must leave the image as it was (the image is compared after all of them).</summary>
    public static readonly FuzzCommand[] ReadOnly =
    [
        new("qimg", ["info", "t.img"], false),
        new("qimg", ["info", "--output=json", "--backing-chain", "t.img"], false),
        new("qimg", ["check", "t.img"], false),
        new("qimg", ["map", "--output=json", "t.img"], false),
        new("qimg", ["snapshot", "-l", "t.img"], false),
        new("qimg", ["compare", "t.img", "t.img"], false),
        new("qimg", ["convert", "-O", "raw", "t.img", "out.raw"], false),
        new("qimg", ["measure", "-O", "qcow2", "t.img"], false),
        new("qio", ["-r", "-c", "read -v 0 1k", "-c", "map", "-c", "alloc 0 64k", "t.img"], false),
    ];

    /// <summary>Commands that open the image read-write, each on a fresh copy of the mutant.</summary>
    public static readonly FuzzCommand[] Writing =
    [
        new("qio", ["-c", "write -P 0x77 0 4k", "-c", "write -z 8k 4k", "-c", "discard 16k 4k", "-c", "read -P 0x77 0 4k", "t.img"], true),
        new("qimg", ["check", "-r", "all", "t.img"], true),
        new("qimg", ["snapshot", "-c", "fz", "t.img"], true),
        new("qimg", ["snapshot", "-a", "1", "t.img"], true),
        new("qimg", ["snapshot", "-d", "1", "t.img"], true),
        new("qimg", ["resize", "t.img", "+64k"], true),
        new("qimg", ["amend", "-o", "compat=0.10", "t.img"], true),
        new("qimg", ["bitmap", "--add", "t.img", "fz"], true),
        new("qimg", ["commit", "t.img"], true),
        new("qimg", ["rebase", "-u", "-b", "", "t.img"], true),
    ];

    /// <summary>Every command, read-only ones first.</summary>
    public static readonly FuzzCommand[] All = [.. ReadOnly, .. Writing];
}
