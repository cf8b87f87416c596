using System.Diagnostics;
using System.Globalization;
using Qcow2.Block;
using Qcow2.Overlap;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// The extra line qimg bench prints to stderr when <c>QIMG_BENCH_STATS</c> is set: open time, which overlap structures
/// answered the checks, and the metadata list's nominal memory against its limit (for bench/run.sh).
/// </summary>
/// <remarks>
/// Format: <c>bench-stats: open_seconds=S structures=list|scan|none list_bytes=N list_limit=N|unlimited peak_rss_kib=N</c>.
/// </remarks>
internal static class BenchStats
{
    /// <summary>The statistics line for an open device (without newline).</summary>
    public static string Line(BlockDevice dev, double openSeconds)
    {
        string structures = "none";
        long bytes = 0;
        string limit = "unlimited";
        if (dev is Qcow2Image image)
        {
            if (image.MetadataList is { } list)
            {
                structures = "list";
                bytes = list.MemoryUsage;
                limit = list.TotalSizeLimit is { } l ? l.ToString(CultureInfo.InvariantCulture) : "unlimited";
            }
            else if (image.OverlapChecks != OverlapTypes.None)
            {
                structures = "scan";
            }
        }
        long peakKib = Process.GetCurrentProcess().PeakWorkingSet64 / 1024;
        return string.Create(CultureInfo.InvariantCulture,
            $"bench-stats: open_seconds={openSeconds:F6} structures={structures} list_bytes={bytes} list_limit={limit} peak_rss_kib={peakKib}");
    }
}
