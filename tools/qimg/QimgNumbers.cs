using Qcow2.Options;

namespace Qcow2.Tools.Qimg;

/// <summary>qemu-img's use of QEMU's number parser (the engine's <see cref="QemuNumbers"/>): cvtnum_full and its warning sink.</summary>
public static class QimgNumbers
{
    /// <summary>A warning sink that prints qemu's warn_report line ("qimg: warning: ...") to the error stream.</summary>
    public static Action<string> WarnTo(TextWriter err) => msg => err.Write($"{QimgTool.Name}: warning: {msg}\n");

    /// <summary>
    /// qemu-img's cvtnum_full: parses a size given on the command line; on failure prints nothing but throws with
    /// qemu-img's two-line message for what (e.g. "image size") and range.
    /// </summary>
    public static long Cvtnum(string what, string value, Action<string>? warn = null, long min = 0, long max = long.MaxValue)
    {
        QemuNumbers.Status st = QemuNumbers.StrToSize(value, out ulong res, warn);
        if (st == QemuNumbers.Status.Invalid)
        {
            throw new QimgException(
                $"Invalid {what} specified. You may use k, M, G, T, P or E suffixes for",
                "qimg: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n");
        }
        if (st == QemuNumbers.Status.OutOfRange || res > (ulong)max || res < (ulong)min)
        {
            throw new QimgException($"Invalid {what} specified. Must be between {min} and {max}.");
        }
        return (long)res;
    }
}
