namespace Qcow2.Tools.Qimg;

/// <summary>The block driver names qemu-img 7.2 (Debian build) knows, as bdrv_find_format looks them up.</summary>
public static class QemuFormatNames
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "compress", "copy-before-write", "copy-on-read",
        "dmg", "file", "ftp", "ftps", "gluster", "host_cdrom", "host_device", "http", "https", "iscsi", "iser", "luks",
        "nbd", "nfs", "null-aio", "null-co", "nvme", "parallels", "preallocate", "qcow", "qcow2", "qed", "quorum", "raw",
        "rbd", "replication", "snapshot-access", "ssh", "throttle", "vdi", "vhdx", "vmdk", "vpc", "vvfat",
    };

    /// <summary>Whether qemu-img would find a driver of that name.</summary>
    public static bool IsKnown(string name) => Names.Contains(name);
}
