namespace Qcow2.Storage;

/// <summary>
/// QEMU 7.2's block permissions (BLK_PERM_*), in the order of their bits: what a user of a node takes, and what it
/// lets others take. The file driver locks byte 100 + bit for each permission taken and 200 + bit for each one not
/// shared (QEMU 6.1 and earlier also had graph-mod at bit 4; 6.2 removed it, so BLK_PERM_ALL is 0x0f).
/// </summary>
[Flags]
public enum BlockPermissions
{
    /// <summary>No permission.</summary>
    None = 0,

    /// <summary>Reads return what was last written (a format driver's metadata needs this).</summary>
    ConsistentRead = 0x01,

    /// <summary>Writes that may change the data.</summary>
    Write = 0x02,

    /// <summary>Writes that leave the data as it reads (copy-on-read, commit of unchanged data).</summary>
    WriteUnchanged = 0x04,

    /// <summary>Changing the length.</summary>
    Resize = 0x08,

    /// <summary>BLK_PERM_ALL.</summary>
    All = 0x0f,
}

/// <summary>The names bdrv_perm_names gives each permission in error messages.</summary>
internal static class BlockPermissionNames
{
    private static readonly (BlockPermissions Perm, string Name)[] Table =
    [
        (BlockPermissions.ConsistentRead, "consistent read"),
        (BlockPermissions.Write, "write"),
        (BlockPermissions.WriteUnchanged, "write unchanged"),
        (BlockPermissions.Resize, "resize"),
    ];

    /// <summary>The names of the permissions in perm, comma-separated as bdrv_perm_names joins them.</summary>
    public static string Of(BlockPermissions perm) =>
        string.Join(", ", Table.Where(t => (perm & t.Perm) != 0).Select(t => t.Name));

    /// <summary>Each single permission bit, lowest first (PERM_FOREACH).</summary>
    public static IEnumerable<BlockPermissions> Bits => Table.Select(t => t.Perm);
}
