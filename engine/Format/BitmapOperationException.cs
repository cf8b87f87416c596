namespace Qcow2.Format;

/// <summary>A bitmap operation (add, remove, clear, enable, disable, merge) was refused; the message is QEMU's, the hint its error hint.</summary>
public sealed class BitmapOperationException : Exception
{
    /// <summary>Creates the error with QEMU's message and optional hint (with its own newline).</summary>
    public BitmapOperationException(string message, string? hint = null) : base(message) => Hint = hint;

    /// <summary>Text QEMU prints after the message line, or null.</summary>
    public string? Hint { get; }
}
