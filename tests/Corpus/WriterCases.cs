using System.Buffers.Binary;

namespace Qcow2.Corpus;

/// <summary>One write of a writer case: LENGTH bytes of PATTERN at OFFSET of the guest disk.</summary>
/// <param name="Offset">guest offset</param>
/// <param name="Length">bytes</param>
/// <param name="Pattern">the byte written</param>
public sealed record GuestWrite(long Offset, long Length, byte Pattern);

/// <summary>
/// One case of the writer contract. A plain case (Prepare null) asks the writer to create an image of Size bytes and
/// make the writes; QEMU must then call the image clean and read exactly the writes back. An overlap case starts from
/// an image the corpus prepares, whose L2 entry for guest cluster 0 points at one of the image's own metadata
/// structures (with the copied flag, so a writer without overlap prevention writes in place): the writer may refuse
/// the write, but the structure's bytes must not change, and a write it acknowledges must read back.
/// </summary>
/// <param name="Name">w_NAME (plain) or w_overlap_NAME</param>
/// <param name="Size">virtual size of a plain case</param>
/// <param name="Writes">the writes, in order</param>
/// <param name="Prepare">for an overlap case: builds the image and returns the protected range (offset, length)</param>
public sealed record WriterCase(string Name, long Size, GuestWrite[] Writes, Func<CaseBuilder, (long Offset, long Length)>? Prepare = null)
{
    /// <summary>Where an image's header keeps the incompatible feature bits; marking an image corrupt changes them.</summary>
    public const long IncompatibleFeatures = 72;
}

/// <summary>The writer cases.</summary>
public static class WriterCases
{
    private const long MiB = 1 << 20;
    private const long Cluster = 64 << 10;

    /// <summary>Every writer case.</summary>
    public static readonly WriterCase[] All =
    [
        new("w_one_cluster", 64 * MiB, [new(0, Cluster, 0xa1)]),
        new("w_unaligned_across_clusters", 64 * MiB, [new(65000, 70000, 0xa2)]),
        new("w_overwrite_part", 64 * MiB, [new(0, 2 * Cluster, 0xa3), new(4096, 8192, 0xa4), new(Cluster - 512, 1024, 0xa5)]),
        new("w_scattered_sectors", 64 * MiB, [.. Enumerable.Range(0, 16).Select(i => new GuestWrite(i * 3 * MiB + i * 4608, 512, (byte)(0x10 + i)))]),
        new("w_one_mebibyte", 64 * MiB, [new(3 * MiB, MiB, 0xa6)]),
        new("w_unaligned_size_last_sector", 64 * MiB + 512, [new(64 * MiB, 512, 0xa7)]),
        new("w_two_l2_tables_sparse", 1024 * MiB, [new(512 * MiB - 4096, 8192, 0xa8), new(1024 * MiB - Cluster, Cluster, 0xa9)]),
        new("w_zero_pattern_over_data", 64 * MiB, [new(0, Cluster, 0xaa), new(0, Cluster, 0x00)]),
        Overlap("w_overlap_refcount_table", b => (Field64(b, 48), Cluster)),
        Overlap("w_overlap_refcount_block", b => (Field64(b, Field64(b, 48)), Cluster)),
        Overlap("w_overlap_active_l1", b => (Field64(b, 40), Cluster)),
        Overlap("w_overlap_active_l2", b => (L2Of(b), Cluster)),
        Overlap("w_overlap_snapshot_table", b => (Field64(b, 64), Cluster), withSnapshot: true),
        Overlap("w_overlap_inactive_l1", b => (Field64(b, Field64(b, 64)), Cluster), withSnapshot: true),
    ];

    /// <summary>
    /// An overlap case: a fresh 64 MiB image (64 KiB clusters) with data in guest cluster 0 (and a snapshot when
    /// asked), whose L2 entry for guest cluster 0 is then pointed, with the copied flag, at the structure target names.
    /// The writer writes 4 KiB at guest offset 0. (The main header cannot be a target: an L2 entry of host offset 0
    /// means an unallocated cluster.)
    /// </summary>
    private static WriterCase Overlap(string name, Func<CaseBuilder, (long Offset, long Length)> target, bool withSnapshot = false) =>
        new(name, 64 * MiB, [new(0, 4096, 0xee)], b =>
        {
            b.Img("create", "-f", "qcow2", "{img}", "64M");
            b.Io("write -P 0x5a 0 64k");
            if (withSnapshot)
            {
                b.Img("snapshot", "-c", "s1", "{img}");
            }
            var t = target(b);
            var entry = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(entry, (1UL << 63) | (ulong)t.Offset);
            b.Poke(L2Of(b), entry);
            return t;
        });

    /// <summary>The big-endian 64-bit value at offset of the image.</summary>
    private static long Field64(CaseBuilder b, long offset)
    {
        using var f = File.OpenRead(b.ImagePath);
        var buf = new byte[8];
        f.Position = offset;
        f.ReadExactly(buf);
        return (long)BinaryPrimitives.ReadUInt64BigEndian(buf);
    }

    /// <summary>The L2 table of guest cluster 0 (the first L1 entry's offset).</summary>
    private static long L2Of(CaseBuilder b) => Field64(b, Field64(b, 40)) & 0x00fffffffffffe00;
}
