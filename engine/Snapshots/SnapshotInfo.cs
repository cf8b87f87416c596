namespace Qcow2.Snapshots;

/// <summary>One internal snapshot as qemu-img snapshot -l and qemu-img info list it.</summary>
/// <param name="Id">id string ("1", "2", ...)</param>
/// <param name="Name">tag</param>
/// <param name="VmStateSize">VM state size in bytes</param>
/// <param name="DateSec">creation time, seconds since the epoch</param>
/// <param name="DateNsec">creation time, nanoseconds part</param>
/// <param name="VmClockNsec">guest run time in nanoseconds</param>
/// <param name="DiskSize">virtual disk size when taken, if recorded</param>
/// <param name="Icount">instruction count when taken, if recorded (null for none or -1)</param>
public sealed record SnapshotInfo(
    string Id, string Name, ulong VmStateSize, uint DateSec, uint DateNsec, ulong VmClockNsec, ulong? DiskSize, ulong? Icount);
