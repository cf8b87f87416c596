namespace Qcow2;

/// <summary>What a consistency check may repair (QEMU's BdrvCheckMode).</summary>
[Flags]
public enum CheckRepair
{
    /// <summary>Only report.</summary>
    None = 0,

    /// <summary>Fix leaked clusters (qemu-img check -r leaks).</summary>
    Leaks = 1,

    /// <summary>Fix corruptions (together with Leaks: qemu-img check -r all).</summary>
    Errors = 2,

    /// <summary>Fix everything that can be fixed.</summary>
    All = Leaks | Errors,
}

/// <summary>The outcome of a consistency check, with QEMU's BdrvCheckResult counters.</summary>
public sealed record CheckResult
{
    /// <summary>Corruptions found and not fixed.</summary>
    public long Corruptions { get; init; }

    /// <summary>Leaked clusters found and not fixed.</summary>
    public long Leaks { get; init; }

    /// <summary>Internal errors that kept the check from completing.</summary>
    public long CheckErrors { get; init; }

    /// <summary>Corruptions that were repaired.</summary>
    public long CorruptionsFixed { get; init; }

    /// <summary>Leaks that were repaired.</summary>
    public long LeaksFixed { get; init; }

    /// <summary>Offset after the last cluster in use, 0 when unknown.</summary>
    public long ImageEndOffset { get; init; }

    /// <summary>Clusters the virtual disk spans.</summary>
    public long TotalClusters { get; init; }

    /// <summary>Guest clusters backed by host clusters.</summary>
    public long AllocatedClusters { get; init; }

    /// <summary>Allocated clusters not contiguous with their predecessor.</summary>
    public long FragmentedClusters { get; init; }

    /// <summary>Compressed guest clusters.</summary>
    public long CompressedClusters { get; init; }

    /// <summary>The error the check failed with (QEMU's negative return value), or null when it completed.</summary>
    public Errno? Failure { get; init; }
}
