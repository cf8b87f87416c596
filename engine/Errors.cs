namespace Qcow2;

/// <summary>POSIX error numbers that the block layer reports, with the text strerror() gives on Linux.</summary>
public enum Errno
{
    EPERM = 1,
    ENOENT = 2,
    EIO = 5,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EBUSY = 16,
    EEXIST = 17,
    EISDIR = 21,
    EINVAL = 22,
    EFBIG = 27,
    ENOSPC = 28,
    EROFS = 30,
    ERANGE = 34,
    ENOTSUP = 95,
    ENOMEDIUM = 123,
}

/// <summary>Maps error numbers to the messages glibc's strerror prints.</summary>
public static class ErrnoText
{
    /// <summary>The strerror text for an error number.</summary>
    public static string Of(Errno e) => e switch
    {
        Errno.EPERM => "Operation not permitted",
        Errno.ENOENT => "No such file or directory",
        Errno.EIO => "Input/output error",
        Errno.EAGAIN => "Resource temporarily unavailable",
        Errno.ENOMEM => "Cannot allocate memory",
        Errno.EACCES => "Permission denied",
        Errno.EBUSY => "Device or resource busy",
        Errno.EEXIST => "File exists",
        Errno.EISDIR => "Is a directory",
        Errno.EINVAL => "Invalid argument",
        Errno.EFBIG => "File too large",
        Errno.ENOSPC => "No space left on device",
        Errno.EROFS => "Read-only file system",
        Errno.ERANGE => "Numerical result out of range",
        Errno.ENOTSUP => "Operation not supported",
        Errno.ENOMEDIUM => "No medium found",
        _ => "Unknown error " + (int)e,
    };
}

/// <summary>A failed guest or metadata request; the message is the strerror text of <see cref="Errno"/>.</summary>
public class BlockIOException : IOException
{
    /// <summary>Creates the exception for an error number.</summary>
    public BlockIOException(Errno errno) : base(ErrnoText.Of(errno)) => Errno = errno;

    /// <summary>The error number the request failed with.</summary>
    public Errno Errno { get; }
}

/// <summary>An image could not be opened or created; the message is the one a user sees after the tool's prefix.</summary>
public class ImageOpenException : Exception
{
    /// <summary>Creates the exception with the user-visible message.</summary>
    public ImageOpenException(string message, Errno errno = Errno.EINVAL) : base(message) => Errno = errno;

    /// <summary>The error number QEMU would return with this message.</summary>
    public Errno Errno { get; }
}

/// <summary>A malformed on-disk structure; the message is QEMU's text for the rule that failed.</summary>
public class CorruptImageException : Exception
{
    /// <summary>Creates the exception with the user-visible message.</summary>
    public CorruptImageException(string message, Errno errno = Errno.EINVAL) : base(message) => Errno = errno;

    /// <summary>The error number QEMU returns with this message.</summary>
    public Errno Errno { get; }
}
