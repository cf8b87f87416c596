namespace Qcow2;

/// <summary>
/// A snapshot operation failed. The message is the text QEMU puts after "Could not apply/delete snapshot 'NAME': ";
/// Reports holds the lines QEMU printed on its own before (error_report), which a tool prefixes with its name.
/// </summary>
public sealed class SnapshotException : BlockIOException
{
    private readonly string _message;

    /// <summary>Creates the exception with QEMU's message and error number.</summary>
    public SnapshotException(string message, Errno errno, IReadOnlyList<string>? reports = null) : base(errno)
    {
        _message = message;
        Reports = reports ?? [];
    }

    /// <inheritdoc/>
    public override string Message => _message;

    /// <summary>Lines reported before the failure (QEMU's error_report calls inside the driver).</summary>
    public IReadOnlyList<string> Reports { get; }
}
