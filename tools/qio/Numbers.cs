namespace Qcow2.Tools.Qio;

/// <summary>qemu-io's use of QEMU's number parser (the engine's <see cref="QemuNumbers"/>): cvtnum and pattern bytes.</summary>
internal static class Numbers
{
    /// <summary>The largest request qemu-io accepts (BDRV_REQUEST_MAX_BYTES: INT_MAX rounded down to 512).</summary>
    public const long RequestMaxBytes = 0x7ffffe00;

    /// <summary>Parses a size as qemu-io's cvtnum does; returns the value or a negative errno (-EINVAL, -ERANGE).</summary>
    /// <param name="text">the argument</param>
    /// <param name="warnings">receives the deprecation warning for hex numbers with a suffix, if any</param>
    public static long Cvtnum(string text, List<string>? warnings = null)
    {
        QemuNumbers.Status rc = QemuNumbers.StrToSize(text, out ulong value, warnings is null ? null : warnings.Add);
        if (rc != QemuNumbers.Status.Ok)
        {
            return (long)rc;
        }
        return value > long.MaxValue ? -(long)Errno.ERANGE : (long)value;
    }

    /// <summary>The line qemu-io prints when cvtnum fails.</summary>
    public static string CvtnumError(long rc, string arg) => rc switch
    {
        -(long)Errno.EINVAL => $"Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- {arg}",
        -(long)Errno.ERANGE => $"Parsing error: argument too large -- {arg}",
        _ => $"Parsing error: {arg}",
    };

    /// <summary>parse_pattern: a byte 0..255 written as strtol accepts it; null (after printing the error) otherwise.</summary>
    public static int? ParsePattern(string arg, TextWriter output)
    {
        if (!QemuNumbers.StrToLong(arg, out long v) || v < 0 || v > 255)
        {
            output.WriteLine($"{arg} is not a valid pattern byte");
            return null;
        }
        return (int)v;
    }
}
