using Qcow2.Cli;

namespace Qcow2.Tools.Mkimage;

/// <summary>Entry point of mkimage, callable in-process with its own streams.</summary>
public static class MkimageTool
{
    /// <summary>Runs mkimage with the given arguments; returns the exit code.</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        ctx.Err.WriteLine("mkimage: not implemented yet");
        return 1;
    }
}
