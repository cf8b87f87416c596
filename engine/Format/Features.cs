namespace Qcow2.Format;

/// <summary>Feature bits of the three header bitmaps, with QEMU's masks.</summary>
public static class Features
{
    /// <summary>Incompatible bit 0: refcounts may be inconsistent (lazy refcounts).</summary>
    public const ulong IncompatDirty = 1UL << 0;
    /// <summary>Incompatible bit 1: the image is corrupt; no writes except repair.</summary>
    public const ulong IncompatCorrupt = 1UL << 1;
    /// <summary>Incompatible bit 2: guest data lives in an external data file.</summary>
    public const ulong IncompatDataFile = 1UL << 2;
    /// <summary>Incompatible bit 3: the compression type field is non-zero.</summary>
    public const ulong IncompatCompression = 1UL << 3;
    /// <summary>Incompatible bit 4: L2 entries are 128 bits with subclusters.</summary>
    public const ulong IncompatExtendedL2 = 1UL << 4;
    /// <summary>Incompatible bits QEMU knows.</summary>
    public const ulong IncompatMask = 0x1f;

    /// <summary>Compatible bit 0: lazy refcounts.</summary>
    public const ulong CompatLazyRefcounts = 1UL << 0;
    /// <summary>Compatible bits QEMU knows.</summary>
    public const ulong CompatMask = 0x1;

    /// <summary>Autoclear bit 0: the bitmaps extension is consistent.</summary>
    public const ulong AutoclearBitmaps = 1UL << 0;
    /// <summary>Autoclear bit 1: the external data file is a valid raw image.</summary>
    public const ulong AutoclearDataFileRaw = 1UL << 1;
    /// <summary>Autoclear bits QEMU knows.</summary>
    public const ulong AutoclearMask = 0x3;

    /// <summary>Feature table entry type of an incompatible bit (1 is compatible, 2 autoclear).</summary>
    public const byte TypeIncompatible = 0;

    /// <summary>The feature table QEMU writes (type, bit, name), in its order.</summary>
    public static readonly (byte Type, byte Bit, string Name)[] QemuTable =
    [
        (0, 0, "dirty bit"),
        (0, 1, "corrupt bit"),
        (0, 2, "external data file"),
        (0, 3, "compression type"),
        (0, 4, "extended L2 entries"),
        (1, 0, "lazy refcounts"),
        (2, 0, "bitmaps"),
        (2, 1, "raw external data"),
    ];
}
