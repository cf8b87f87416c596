using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>Entry point of qimg, callable in-process with its own streams.</summary>
public static class QimgTool
{
    /// <summary>Runs qimg with the given arguments; returns the exit code.</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        ctx.Err.WriteLine("qimg: not implemented yet");
        return 1;
    }
}
