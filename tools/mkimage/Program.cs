using Qcow2.Cli;
using Qcow2.Tools.Mkimage;

return ToolContext.RunOnConsole(MkimageTool.Run, args);
