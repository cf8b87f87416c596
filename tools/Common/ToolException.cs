namespace Qcow2.Cli;

/// <summary>A failure a tool reports as `TOOL: MESSAGE` plus an optional raw hint, then exits with ExitCode.</summary>
public class ToolException : Exception
{
    /// <summary>Creates the error with QEMU's message text (without the tool prefix).</summary>
    public ToolException(string message, string? hint = null, int exitCode = 1) : base(message)
    {
        Hint = hint;
        ExitCode = exitCode;
    }

    /// <summary>Text printed right after the message line, exactly as given (QEMU's error hints carry their own newlines).</summary>
    public string? Hint { get; }

    /// <summary>Exit status of the command.</summary>
    public int ExitCode { get; }
}
