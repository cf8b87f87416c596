using System.Globalization;
using Qcow2.Snapshots;

namespace Qcow2.Tools.Qimg;

/// <summary>bdrv_snapshot_dump: the snapshot table of qemu-img info and qemu-img snapshot -l.</summary>
public static class SnapshotTable
{
    /// <summary>The column header line (without newline).</summary>
    public static string Header() =>
        string.Create(CultureInfo.InvariantCulture, $"{"ID",-10}{"TAG",-17}{"VM SIZE",8}{"DATE",20}{"VM CLOCK",13}{"ICOUNT",11}");

    /// <summary>One snapshot's line (without newline); the date is shown in local time, as qemu does.</summary>
    public static string Row(SnapshotInfo s)
    {
        DateTime date = DateTimeOffset.FromUnixTimeSeconds(s.DateSec).ToLocalTime().DateTime;
        ulong secs = s.VmClockNsec / 1_000_000_000;
        string clock = string.Create(CultureInfo.InvariantCulture,
            $"{(int)(secs / 3600):00}:{(int)(secs / 60 % 60):00}:{(int)(secs % 60):00}.{(int)(s.VmClockNsec / 1_000_000 % 1000):000}");
        string icount = s.Icount is ulong ic ? ((long)ic).ToString(CultureInfo.InvariantCulture) : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.Id,-9} {s.Name,-16} {HumanSize.Format(s.VmStateSize),8}{date.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),20}{clock,13}{icount,11}");
    }
}
