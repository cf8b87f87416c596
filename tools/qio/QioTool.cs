using Qcow2.Cli;

namespace Qcow2.Tools.Qio;

/// <summary>Entry point of qio, callable in-process with its own streams.</summary>
public static class QioTool
{
    /// <summary>Runs qio with the given arguments; returns the exit code.</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        ctx.Err.WriteLine("qio: not implemented yet");
        return 1;
    }
}
