namespace Qcow2.Tools.Qimg;

/// <summary>strerror texts for failures of host file operations, as qemu prints them after "Could not create '...': ".</summary>
public static class HostErrors
{
    /// <summary>EFBIG on Linux.</summary>
    public const int Efbig = 27;

    /// <summary>The errno behind a .NET file exception (raw errno in HResult on Unix), or 0 when unknown.</summary>
    public static int Errno(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => 2,
        UnauthorizedAccessException => 13,
        PathTooLongException => 36,
        IOException io when io.HResult is > 0 and < 4096 => io.HResult,
        _ => 0,
    };

    /// <summary>The strerror text for a .NET file exception.</summary>
    public static string Text(Exception e) => Errno(e) switch
    {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        5 => "Input/output error",
        13 => "Permission denied",
        17 => "File exists",
        20 => "Not a directory",
        21 => "Is a directory",
        22 => "Invalid argument",
        27 => "File too large",
        28 => "No space left on device",
        30 => "Read-only file system",
        36 => "File name too long",
        _ => e.Message,
    };
}
