namespace Qcow2.Tools.Qimg;

/// <summary>Which of qemu-img 7.2's block drivers can create images (have creation options), as bdrv_create checks it.</summary>
public static class QemuCreatableFormats
{
    /// <summary>Drivers qemu knows that have no creation options.</summary>
    private static readonly HashSet<string> NotCreatable =
    [
        "blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "compress", "copy-before-write", "copy-on-read", "dmg",
        "ftp", "ftps", "http", "https", "null-aio", "null-co", "preallocate", "quorum", "replication", "snapshot-access",
        "throttle", "vvfat",
    ];

    /// <summary>Whether qemu-img would refuse the known driver with "Format driver '...' does not support image creation".</summary>
    public static bool LacksCreateOptions(string format) => NotCreatable.Contains(format);
}
