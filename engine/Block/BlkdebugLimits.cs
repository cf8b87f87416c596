using Qcow2.Overlap;

namespace Qcow2.Block;

/// <summary>
/// The request limits a blkdebug node announces (its align, max-transfer, opt-write-zero, max-write-zero, opt-discard and
/// max-discard options; blkdebug_refresh_limits), checked as blkdebug_open checks them. Zero means the option is unset.
/// </summary>
internal sealed record BlkdebugLimits(long Align, long MaxTransfer, long OptWriteZero, long MaxWriteZero, long OptDiscard, long MaxDiscard)
{
    /// <summary>INT_MAX: every limit must stay below it.</summary>
    private const long IntMax = int.MaxValue;

    /// <summary>The option names, in the order blkdebug_open checks them.</summary>
    public static readonly string[] Keys = ["align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"];

    /// <summary>No option given: the node passes requests as the block layer hands them (request alignment 1).</summary>
    public static readonly BlkdebugLimits None = new(0, 0, 0, 0, 0, 0);

    /// <summary>The node's request alignment (bs->bl.request_alignment): align, else the child's 1.</summary>
    public long RequestAlignment => Math.Max(Align, 1);

    /// <summary>Takes the size options (prefix + key) out of options; a value that is no size fails as qemu_opts_absorb_qdict does.</summary>
    public static Dictionary<string, ulong> Take(IDictionary<string, string> options, string prefix)
    {
        var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (string key in QemuOptionSyntax.InQdictOrder(Keys.Select(k => prefix + k).Where(options.ContainsKey).ToList()))
        {
            values[key[prefix.Length..]] = QemuOptionSyntax.ParseSize(key[prefix.Length..], options[key]);
            options.Remove(key);
        }
        return values;
    }

    /// <summary>blkdebug_open's checks, once the image child is open: align a power of two, the others multiples of it (the
    /// maximums of their optimum too), all below INT_MAX; the first that fails is "Cannot meet constraints with KEY VALUE".</summary>
    public static BlkdebugLimits Check(IReadOnlyDictionary<string, ulong> values)
    {
        ulong Get(string key) => values.GetValueOrDefault(key);
        ulong align = Get("align");
        if (align != 0 && (align >= IntMax || (align & (align - 1)) != 0))
        {
            throw Unmet("align", align);
        }
        ulong request = Math.Max(align, 1);
        ulong CheckMultiple(string key, ulong of)
        {
            ulong v = Get(key);
            return v != 0 && (v >= IntMax || v % of != 0) ? throw Unmet(key, v) : v;
        }
        ulong maxTransfer = CheckMultiple("max-transfer", request);
        ulong optWriteZero = CheckMultiple("opt-write-zero", request);
        ulong maxWriteZero = CheckMultiple("max-write-zero", Math.Max(optWriteZero, request));
        ulong optDiscard = CheckMultiple("opt-discard", request);
        ulong maxDiscard = CheckMultiple("max-discard", Math.Max(optDiscard, request));
        return new((long)align, (long)maxTransfer, (long)optWriteZero, (long)maxWriteZero, (long)optDiscard, (long)maxDiscard);
    }

    private static ImageOpenException Unmet(string key, ulong value) => new($"Cannot meet constraints with {key} {value}");
}

/// <summary>The calls the block layer makes into a driver once it has shaped a request to the driver's limits.</summary>
internal interface IAlignedDriver
{
    /// <summary>The node's length (reads past it are not sent to the driver).</summary>
    long Length { get; }

    /// <summary>bdrv_debug_event on the node.</summary>
    void Event(string name);

    /// <summary>The driver's read of an aligned request.</summary>
    void DriverRead(long offset, Span<byte> buffer);

    /// <summary>The driver's write of an aligned request.</summary>
    void DriverWrite(long offset, ReadOnlySpan<byte> data);

    /// <summary>The driver's zero write (which may deallocate with mayUnmap); false where it answers ENOTSUP (the block
    /// layer then writes a zeroed buffer).</summary>
    bool DriverWriteZeroes(long offset, long bytes, bool mayUnmap);

    /// <summary>The driver's discard (ENOTSUP answers are ignored: discard is advisory).</summary>
    void DriverDiscard(long offset, long bytes);
}
