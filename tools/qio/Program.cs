using Qcow2.Cli;
using Qcow2.Tools.Qio;

return ToolContext.RunOnConsole(QioTool.Run, args);
