namespace Qcow2.Tools.Qimg;

/// <summary>BlockMeasureInfo: the bytes a new image needs for the data present, when fully allocated, and for bitmaps (when both ends support them).</summary>
public sealed record MeasureResult(long Required, long FullyAllocated, long? Bitmaps);
