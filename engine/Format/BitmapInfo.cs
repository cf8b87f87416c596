namespace Qcow2.Format;

/// <summary>What qemu-img info reports of one persistent bitmap (Qcow2BitmapInfo): name, granularity and flag names.</summary>
/// <param name="Name">the bitmap's name</param>
/// <param name="Granularity">bytes per bit</param>
/// <param name="Flags">"in-use" and/or "auto", in that order</param>
public sealed record BitmapInfo(string Name, long Granularity, IReadOnlyList<string> Flags);
