namespace Qcow2.Tools.Qimg;

/// <summary>bdrv_parse_cache_mode: the cache mode names qemu-img accepts for -t and -T.</summary>
public static class CacheModes
{
    /// <summary>The mode of -t and -T when not given (BDRV_DEFAULT_CACHE).</summary>
    public const string Default = "writeback";

    /// <summary>Whether the mode is one qemu knows (none, off, directsync, writeback, unsafe, writethrough).</summary>
    public static bool IsValid(string mode) =>
        mode is "none" or "off" or "directsync" or "writeback" or "unsafe" or "writethrough";

    /// <summary>Whether the mode writes through (writethrough, directsync).</summary>
    public static bool WritesThrough(string mode) => mode is "writethrough" or "directsync";
}
