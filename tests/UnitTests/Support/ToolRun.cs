namespace Qcow2.UnitTests.Support;

/// <summary>The result of one tool run, ours (in-process) or an external one such as qemu-img.</summary>
/// <param name="ExitCode">exit status</param>
/// <param name="Out">standard output</param>
/// <param name="Err">standard error</param>
public sealed record ToolRun(int ExitCode, string Out, string Err)
{
    /// <summary>All of it, for failure messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Err}";
}
