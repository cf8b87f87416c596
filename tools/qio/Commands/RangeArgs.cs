namespace Qcow2.Tools.Qio.Commands;

/// <summary>The "off len" and "off len [len..]" operands of qemu-io's I/O commands, parsed once for all of them.</summary>
internal static class RangeArgs
{
    /// <summary>off len (read, write, discard): false, after printing qemu-io's parsing error, when either is bad.</summary>
    public static bool OffsetAndLength(QioSession s, IReadOnlyList<string> operands, out long offset, out long length, out int rc)
    {
        length = 0;
        return Parse(s, operands[0], out offset, out rc) && Parse(s, operands[1], out length, out rc);
    }

    /// <summary>off len for a single request (read, discard): also false when len exceeds the largest request.</summary>
    public static bool OffsetAndRequest(QioSession s, IReadOnlyList<string> operands, out long offset, out long length, out int rc)
    {
        if (!OffsetAndLength(s, operands, out offset, out length, out rc))
        {
            return false;
        }
        if (length > Numbers.RequestMaxBytes)
        {
            s.Out.WriteLine($"length cannot exceed {Numbers.RequestMaxBytes}, given {operands[1]}");
            rc = -(int)Errno.EINVAL;
            return false;
        }
        return true;
    }

    /// <summary>off len [len..] (readv, writev, aio_read, aio_write): the offset and create_iovec's total length.</summary>
    public static bool OffsetAndVector(QioSession s, IReadOnlyList<string> operands, out long offset, out long total, out int rc)
    {
        total = 0;
        if (!Parse(s, operands[0], out offset, out rc))
        {
            return false;
        }
        long? sum = IoCommands.VectorLength(s, operands.Skip(1).ToList(), out rc);
        total = sum ?? 0;
        return sum is not null;
    }

    private static bool Parse(QioSession s, string arg, out long value, out int rc)
    {
        long? v = IoCommands.Number(s, arg, out rc);
        value = v ?? 0;
        return v is not null;
    }
}
