using Qcow2.Cli;
using Qcow2.Tools.Mkimage;
using Qcow2.Tools.Qimg;
using Qcow2.Tools.Qio;

namespace Qcow2.UnitTests.Support;

/// <summary>Runs our tools' <c>Run(string[], ToolContext)</c> entry points in-process, with their own streams.</summary>
public static class InProcess
{
    /// <summary>Runs an entry point in dir with the given standard input; stdout is flushed before it is read.</summary>
    public static ToolRun Run(Func<string[], ToolContext, int> tool, string dir, string[] args, string input = "")
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        var ctx = new ToolContext(new StringReader(input), o, e, dir);
        SpawnGate.Settle();
        int rc = tool(args, ctx);
        ctx.Out.Flush();
        return new ToolRun(rc, o.ToString(), e.ToString());
    }

    /// <summary>Runs qimg in dir.</summary>
    public static ToolRun Qimg(string dir, params string[] args) => Run(QimgTool.Run, dir, args);

    /// <summary>Runs qio in dir.</summary>
    public static ToolRun Qio(string dir, params string[] args) => Run(QioTool.Run, dir, args);

    /// <summary>Runs mkimage in dir.</summary>
    public static ToolRun Mkimage(string dir, params string[] args) => Run(MkimageTool.Run, dir, args);
}
