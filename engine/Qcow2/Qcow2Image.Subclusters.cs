using System.Buffers.Binary;
using System.Numerics;
using Qcow2.Format;

namespace Qcow2;

/// <summary>Extended L2 entries: the subcluster layer of qcow2-cluster.c (the 64-bit bitmap after each entry).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>log2 of the subcluster size: 32 subclusters per cluster with extended entries, one without.</summary>
    private int SubclusterBits => ExtendedL2 ? _clusterBits - 5 : _clusterBits;

    private long SubclusterSize => 1L << SubclusterBits;

    private int SubclustersPerCluster => ExtendedL2 ? SubclusterBitmap.Count : 1;

    private int ScIndex(long offset) => (int)(OffsetIntoCluster(offset) >> SubclusterBits);

    private ulong GetBitmap(byte[] table, int index) =>
        ExtendedL2 ? BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(index * _l2EntrySize + L2Entry.Size)) : 0;

    private void SetBitmap(byte[] table, int index, ulong value) =>
        BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(index * _l2EntrySize + L2Entry.Size), value);

    /// <summary>An extended entry's cluster type as this image reads it (offset 0 is a data offset with a data file).</summary>
    private ClusterType ExtendedTypeOf(ulong entry) => SubclusterBitmap.ClusterTypeOf(entry, HasDataFile);

    private SubclusterType SubclusterTypeAt(byte[] table, int index, int sc) =>
        SubclusterBitmap.TypeOf(ExtendedTypeOf(GetEntry(table, index)), GetBitmap(table, index), sc);

    /// <summary>How many subclusters from scFrom share its type (qcow2_get_subcluster_range_type); -1 when invalid.</summary>
    private int SubclusterRange(ulong entry, ulong bitmap, int scFrom, out SubclusterType type)
    {
        type = SubclusterBitmap.TypeOf(ExtendedTypeOf(entry), bitmap, scFrom);
        ulong before = SubclusterBitmap.AllocRange(0, scFrom);
        switch (type)
        {
            case SubclusterType.Invalid:
                return -1;
            case SubclusterType.Compressed:
                return SubclusterBitmap.Count - scFrom;
            case SubclusterType.Normal:
                return BitOperations.TrailingZeroCount(~(uint)(bitmap | before)) - scFrom;
            case SubclusterType.ZeroPlain:
            case SubclusterType.ZeroAlloc:
                return BitOperations.TrailingZeroCount(~(uint)((bitmap >> 32) | before)) - scFrom;
            default:
                uint val = (uint)(((bitmap >> 32) | bitmap) & ~before);
                return (val == 0 ? 32 : BitOperations.TrailingZeroCount(val)) - scFrom;
        }
    }

    /// <summary>
    /// Subclusters of the same type from cluster index, subcluster sc, over at most nbClusters clusters, allocated ones
    /// contiguous in the file (count_contiguous_subclusters); -1 with index at the invalid entry.
    /// </summary>
    private int CountContiguousSubclusters(byte[] table, ref int index, int sc, int nbClusters)
    {
        int count = 0;
        long expected = 0;
        bool checkOffset = false;
        var expectedType = SubclusterType.Normal;
        for (int i = 0; i < nbClusters; i++)
        {
            int first = i == 0 ? sc : 0;
            ulong entry = GetEntry(table, index + i);
            int n = SubclusterRange(entry, GetBitmap(table, index + i), first, out var type);
            if (n < 0)
            {
                index += i;
                return -1;
            }
            if (i == 0)
            {
                if (type == SubclusterType.Compressed)
                {
                    return n;
                }
                expectedType = type;
                expected = (long)(entry & L2Entry.OffsetMask);
                checkOffset = type is SubclusterType.Normal or SubclusterType.ZeroAlloc or SubclusterType.UnallocatedAlloc;
            }
            else if (type != expectedType)
            {
                break;
            }
            else if (checkOffset)
            {
                expected += _clusterSize;
                if (expected != (long)(entry & L2Entry.OffsetMask))
                {
                    break;
                }
            }
            count += n;
            if (first + n < SubclusterBitmap.Count)
            {
                break;
            }
        }
        return count;
    }

    /// <summary>
    /// qcow2_get_host_offset for extended entries. The subcluster type is reported as the cluster type callers know:
    /// unallocated subclusters (with or without a host cluster) as Unallocated, the host offset still set for the latter.
    /// </summary>
    private ClusterType GetHostOffsetExtended(byte[] table, long l2Offset, long offset, ref long bytes, long needed,
        out long hostOffset, out ulong rawEntry)
    {
        long inCluster = OffsetIntoCluster(offset);
        int l2Index = L2Index(offset), sc = ScIndex(offset);
        ulong entry = GetEntry(table, l2Index);
        rawEntry = entry;
        hostOffset = 0;
        var type = SubclusterBitmap.TypeOf(ExtendedTypeOf(entry), GetBitmap(table, l2Index), sc);
        if (type is SubclusterType.Normal or SubclusterType.ZeroAlloc or SubclusterType.UnallocatedAlloc)
        {
            long hostCluster = (long)(entry & L2Entry.OffsetMask);
            hostOffset = hostCluster + inCluster;
            if (OffsetIntoCluster(hostCluster) != 0)
            {
                SignalCorruption(true, -1, -1, $"Cluster allocation offset {Hex(hostCluster)} unaligned (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(l2Index)})");
                throw new BlockIOException(Errno.EIO);
            }
        }
        int index = l2Index;
        int count = CountContiguousSubclusters(table, ref index, sc, (int)SizeToClusters(needed));
        if (count < 0)
        {
            // QEMU's message has two spaces before the parenthesis.
            SignalCorruption(true, -1, -1, $"Invalid cluster entry found  (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(index)})");
            throw new BlockIOException(Errno.EIO);
        }
        bytes = Math.Min(((long)count + sc) << SubclusterBits, needed) - inCluster;
        return type switch
        {
            SubclusterType.Normal => ClusterType.Normal,
            SubclusterType.Compressed => ClusterType.Compressed,
            SubclusterType.ZeroPlain => ClusterType.ZeroPlain,
            SubclusterType.ZeroAlloc => ClusterType.ZeroAlloc,
            _ => ClusterType.Unallocated,
        };
    }
}
