using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>What every image qimg opens shares: paths relative to the working directory, the engine's reports on
/// stderr with qimg's name, its messages on stdout.</summary>
internal static class ToolOpenOptions
{
    /// <summary>Sets the tool-wide options on these open options and returns them.</summary>
    public static OpenOptions ForTool(this OpenOptions options, ToolContext ctx)
    {
        options.BaseDirectory = ctx.CurrentDirectory;
        options.Diagnostics = ctx.Err;
        options.ReportPrefix = QimgTool.Name + ": ";
        options.Messages = ctx.Out;
        options.Clock = ctx.Clock;
        return options;
    }
}
