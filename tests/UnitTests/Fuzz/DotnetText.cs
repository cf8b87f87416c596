namespace Qcow2.UnitTests.Fuzz;

/// <summary>
/// Recognises .NET exception text (type names, BCL messages, stack frames) in what a tool printed: the tools print
/// QEMU's messages only, so any of these in their output means an exception's message leaked to the user.
/// </summary>
internal static class DotnetText
{
    private static readonly string[] Markers =
    [
        "Exception", "   at ", "System.", "(Parameter '", "Actual value was", "Object reference not set",
        "Index was outside the bounds", "Arithmetic operation resulted in an overflow", "Value was either too large or too small",
        "Specified argument was out of the range", "Nullable object must have a value", "Sequence contains no",
        "The given key", "Offset and length were out of bounds", "Unable to read beyond the end of the stream",
        "Attempted to divide by zero", "Non-negative number required", "must be a non-negative value",
        "Destination is too short", "Unable to cast object", "is not supported by this stream",
    ];

    /// <summary>The first .NET marker found in text, or null.</summary>
    public static string? Find(string text)
    {
        foreach (string m in Markers)
        {
            if (text.Contains(m, StringComparison.Ordinal))
            {
                return m;
            }
        }
        return null;
    }
}
