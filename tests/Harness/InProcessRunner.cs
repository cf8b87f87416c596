using Qcow2.Cli;

namespace Qcow2.Harness;

/// <summary>Runs a tool's Run(args, ToolContext) entry point in this process, with stdio-like streams.</summary>
internal sealed class InProcessRunner(string name, Func<string[], ToolContext, int> entry) : IToolRunner
{
    /// <summary>The entry points a target file may name after <c>in-process</c>.</summary>
    public static readonly IReadOnlyDictionary<string, Func<string[], ToolContext, int>> Known =
        new Dictionary<string, Func<string[], ToolContext, int>>(StringComparer.Ordinal)
        {
            ["qimg"] = Qcow2.Tools.Qimg.QimgTool.Run,
            ["qio"] = Qcow2.Tools.Qio.QioTool.Run,
            ["mkimage"] = Qcow2.Tools.Mkimage.MkimageTool.Run,
        };

    /// <inheritdoc/>
    public string Description => $"in-process {name}";

    /// <inheritdoc/>
    public string? Unavailable => null;

    /// <inheritdoc/>
    public ToolRun Run(IReadOnlyList<string> args, string? stdin, string workDir, bool merge)
    {
        var chunks = new List<OutputChunk>();
        var gate = new object();
        using var output = new StdioWriter(false, chunks, gate);
        using var error = new StdioWriter(true, chunks, gate);
        var ctx = new ToolContext(new StringReader(stdin ?? ""), output, error, workDir);
        int code;
        try
        {
            code = entry([.. args], ctx);
        }
#pragma warning disable CA1031 // a tool that throws must show up in the scenario's output, not kill the run
        catch (Exception e)
#pragma warning restore CA1031
        {
            output.Flush();
            error.Write($"iotests: {name} threw {e.GetType().Name}: {e.Message}\n");
            code = 134;
        }

        output.Flush();
        return new ToolRun(code, chunks);
    }
}
