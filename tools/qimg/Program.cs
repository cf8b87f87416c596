using Qcow2.Cli;
using Qcow2.Tools.Qimg;

return ToolContext.RunOnConsole(QimgTool.Run, args);
