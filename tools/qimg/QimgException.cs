namespace Qcow2.Tools.Qimg;

/// <summary>A failure that qimg reports as `qimg: PREFIX MESSAGE` plus an optional raw hint, then exits with ExitCode.</summary>
public class QimgException : ToolException
{
    /// <summary>Creates the error with qemu-img's message text (without the tool prefix).</summary>
    public QimgException(string message, string? hint = null, int exitCode = 1) : base(message, hint, exitCode)
    {
    }
}

/// <summary>A command-line mistake: qemu-img's error_exit, which adds "Try 'qimg --help' for more information".</summary>
public sealed class QimgUsageException : QimgException
{
    /// <summary>Creates the usage error with qemu-img's message text.</summary>
    public QimgUsageException(string message) : base(message)
    {
    }
}

/// <summary>Ends the command early with an exit code and no further output (the output was already written).</summary>
public sealed class QimgExitException : Exception
{
    /// <summary>Creates the exit request.</summary>
    public QimgExitException(int exitCode) => ExitCode = exitCode;

    /// <summary>Exit status of the command.</summary>
    public int ExitCode { get; }
}
