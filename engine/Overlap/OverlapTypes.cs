using System.Numerics;

namespace Qcow2.Overlap;

/// <summary>
/// The qcow2 metadata structures that overlap checks protect, one bit each as QEMU's QCow2MetadataOverlap numbers them
/// (bits 0-8), and the LUKS encryption header as bit 9, which QEMU 7.2 does not protect.
/// </summary>
[Flags]
public enum OverlapTypes : ushort
{
    /// <summary>No structure.</summary>
    None = 0,

    /// <summary>The image header (cluster 0).</summary>
    MainHeader = 0x001,

    /// <summary>The active L1 table.</summary>
    ActiveL1 = 0x002,

    /// <summary>An L2 table referenced by the active L1 table.</summary>
    ActiveL2 = 0x004,

    /// <summary>The refcount table.</summary>
    RefcountTable = 0x008,

    /// <summary>A refcount block.</summary>
    RefcountBlock = 0x010,

    /// <summary>The snapshot table.</summary>
    SnapshotTable = 0x020,

    /// <summary>The L1 table of a snapshot.</summary>
    InactiveL1 = 0x040,

    /// <summary>An L2 table referenced only by a snapshot's L1 table.</summary>
    InactiveL2 = 0x080,

    /// <summary>The persistent bitmap directory.</summary>
    BitmapDirectory = 0x100,

    /// <summary>The LUKS encryption header named by the crypto header extension (ours: QEMU 7.2 does not protect it).</summary>
    CryptoHeader = 0x200,
}

/// <summary>The templates of the <c>overlap-check</c> option, with QEMU's masks.</summary>
internal static class OverlapTemplates
{
    /// <summary>Template <c>none</c>: no checks.</summary>
    public const OverlapTypes None = OverlapTypes.None;

    /// <summary>
    /// Template <c>constant</c>: the checks upstream QEMU can do in constant time (its 0x12B), plus the crypto header, whose
    /// one range is read at open from its header extension (0x32B).
    /// </summary>
    public const OverlapTypes Constant = OverlapTypes.MainHeader | OverlapTypes.ActiveL1 | OverlapTypes.RefcountTable
        | OverlapTypes.SnapshotTable | OverlapTypes.BitmapDirectory | OverlapTypes.CryptoHeader;

    /// <summary>Template <c>cached</c>: the checks that need no disk access (QEMU's 0x17F, with the crypto header 0x37F); QEMU's default.</summary>
    public const OverlapTypes Cached = Constant | OverlapTypes.ActiveL2 | OverlapTypes.RefcountBlock | OverlapTypes.InactiveL1;

    /// <summary>Template <c>all</c>: every check (QEMU's 0x1FF, with the crypto header 0x3FF).</summary>
    public const OverlapTypes All = Cached | OverlapTypes.InactiveL2;

    /// <summary>The template QEMU uses when no <c>overlap-check</c> option is given.</summary>
    public const OverlapTypes Default = Cached;

    /// <summary>Template names in the order QEMU lists them in its error message.</summary>
    public static IReadOnlyList<string> Names { get; } = ["none", "constant", "cached", "all"];

    /// <summary>Maps a template name (case-sensitive, as QEMU compares it) to its mask.</summary>
    public static bool TryParse(string name, out OverlapTypes mask)
    {
        switch (name)
        {
            case "none": mask = None; return true;
            case "constant": mask = Constant; return true;
            case "cached": mask = Cached; return true;
            case "all": mask = All; return true;
            default: mask = None; return false;
        }
    }
}

/// <summary>One row of the overlap type table: the bit, QEMU's name for messages, the option suffix and the option's help text.</summary>
/// <param name="Type">The single bit.</param>
/// <param name="Name">QEMU's metadata_ol_names[] text, used in "overlaps with %s".</param>
/// <param name="OptionSuffix">The part after <c>overlap-check.</c> of the boolean option.</param>
/// <param name="Help">QEMU's help text of the boolean option.</param>
internal sealed record OverlapTypeInfo(OverlapTypes Type, string Name, string OptionSuffix, string Help)
{
    /// <summary>Number of overlap types (QEMU's QCOW2_OL_MAX_BITNR, plus our crypto header).</summary>
    public const int Count = 10;

    /// <summary>The table, indexed by bit number.</summary>
    public static IReadOnlyList<OverlapTypeInfo> All { get; } =
    [
        new(OverlapTypes.MainHeader, "qcow2_header", "main-header", "Check for unintended writes into the main qcow2 header"),
        new(OverlapTypes.ActiveL1, "active L1 table", "active-l1", "Check for unintended writes into the active L1 table"),
        new(OverlapTypes.ActiveL2, "active L2 table", "active-l2", "Check for unintended writes into an active L2 table"),
        new(OverlapTypes.RefcountTable, "refcount table", "refcount-table", "Check for unintended writes into the refcount table"),
        new(OverlapTypes.RefcountBlock, "refcount block", "refcount-block", "Check for unintended writes into a refcount block"),
        new(OverlapTypes.SnapshotTable, "snapshot table", "snapshot-table", "Check for unintended writes into the snapshot table"),
        new(OverlapTypes.InactiveL1, "inactive L1 table", "inactive-l1", "Check for unintended writes into an inactive L1 table"),
        new(OverlapTypes.InactiveL2, "inactive L2 table", "inactive-l2", "Check for unintended writes into an inactive L2 table"),
        new(OverlapTypes.BitmapDirectory, "bitmap directory", "bitmap-directory", "Check for unintended writes into the bitmap directory"),
        new(OverlapTypes.CryptoHeader, "crypto header", "crypto-header", "Check for unintended writes into the encryption header"),
    ];

    /// <summary>Every defined type bit together.</summary>
    public const OverlapTypes AllBits = OverlapTemplates.All;

    /// <summary>The full option name, e.g. <c>overlap-check.active-l1</c>.</summary>
    public string OptionName => OverlapCheckOptions.OverlapCheck + "." + OptionSuffix;

    /// <summary>The bit number of this type (0 for the main header).</summary>
    public int BitNumber => BitOperations.TrailingZeroCount((uint)Type);

    /// <summary>The row of a single type bit.</summary>
    public static OverlapTypeInfo Of(OverlapTypes single)
    {
        uint v = (uint)single;
        if (v == 0 || (v & (v - 1)) != 0 || (single & ~AllBits) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(single), single, "Exactly one defined overlap type bit is required.");
        }

        return All[BitOperations.TrailingZeroCount(v)];
    }

    /// <summary>The lowest set bit of <paramref name="types"/> (the one QEMU's ctz picks), or None.</summary>
    public static OverlapTypes Lowest(OverlapTypes types) => (OverlapTypes)((uint)types & (0u - (uint)types));

    /// <summary>
    /// The order in which upstream QEMU's linear scan tests the structures; its report names the first hit. The crypto
    /// header, which upstream does not check, comes last.
    /// </summary>
    public static IReadOnlyList<OverlapTypes> ScanOrder { get; } =
    [
        OverlapTypes.MainHeader, OverlapTypes.ActiveL1, OverlapTypes.RefcountTable, OverlapTypes.SnapshotTable,
        OverlapTypes.InactiveL1, OverlapTypes.ActiveL2, OverlapTypes.RefcountBlock, OverlapTypes.InactiveL2,
        OverlapTypes.BitmapDirectory, OverlapTypes.CryptoHeader,
    ];

    /// <summary>The first bit of <paramref name="types"/> in upstream's scan order (what qemu-img 7.2 reports), or None.</summary>
    public static OverlapTypes FirstInScanOrder(OverlapTypes types)
    {
        foreach (var t in ScanOrder)
        {
            if ((types & t) != 0)
            {
                return t;
            }
        }

        return OverlapTypes.None;
    }

    /// <summary>QEMU's name of the lowest set bit, the one a corruption message reports (e.g. "active L2 table").</summary>
    public static string LowestName(OverlapTypes types) =>
        types == OverlapTypes.None
            ? throw new ArgumentOutOfRangeException(nameof(types), types, "At least one overlap type bit is required.")
            : Of(Lowest(types)).Name;
}
