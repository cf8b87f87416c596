namespace Qcow2.Overlap;

/// <summary>Receives one metadata structure of an image's enumeration: <paramref name="type"/> at [offset, offset + bytes).</summary>
internal delegate void MetadataVisitor(long offset, long bytes, OverlapTypes type);
