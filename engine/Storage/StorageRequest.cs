namespace Qcow2.Storage;

/// <summary>The request bounds QEMU's block layer enforces on every read and write of a node (bdrv_check_request).</summary>
internal static class StorageRequest
{
    /// <summary>The largest length a block node may have (BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB).</summary>
    public const long MaxLength = long.MaxValue & ~((1L << 30) - 1);

    /// <summary>
    /// Refuses with EIO a request that starts before 0 or ends past <see cref="MaxLength"/>, as QEMU does before the
    /// request reaches the file: a table offset read from a hostile image (an L1 table at 0x7fffffffffff0000, a
    /// refcount block at 2^63) then fails like QEMU's instead of reading zeros or growing the file.
    /// </summary>
    public static void Check(long offset, long bytes)
    {
        if (offset < 0 || bytes < 0 || bytes > MaxLength || offset > MaxLength - bytes)
        {
            throw new BlockIOException(Errno.EIO);
        }
    }
}
