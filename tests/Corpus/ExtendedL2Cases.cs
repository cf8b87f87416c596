using System.Globalization;

namespace Qcow2.Corpus;

/// <summary>
/// Extended L2 entries (incompatible feature bit 4): each cluster is 32 subclusters with an allocation bit and a zero
/// bit each. Cases at several cluster sizes (16 KiB is the smallest QEMU creates), partly allocated clusters, zero
/// subclusters over data and over nothing, compressed clusters (whose bitmap must be ignored), subclusters that read
/// through to a backing file, and entries whose bits contradict each other.
/// </summary>
public static class ExtendedL2Cases
{
    private static readonly int[] ClusterSizes = [16384, 32768, 65536, 262144, 2 << 20];

    private static string K(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A mixed workload by subclusters (s = cluster / 32): one subcluster, two more in the same cluster, an unaligned
    /// write across clusters, a compressed cluster, the last MiB; then zero subclusters over data and over nothing,
    /// and a whole zero cluster.
    /// </summary>
    private static void Workload(CaseBuilder b, int cluster)
    {
        int s = cluster / 32;
        b.Io($"write -P 0x11 0 {K(s)}", $"write -P 0x12 {K(3 * s)} {K(2 * s)}", "write -P 0x22 1024512 7k",
            $"write -c -P 0x44 8M {K(cluster)}", "write -P 0x33 63M 1M");
        b.Io($"write -z {K(63L * 1048576 + s)} {K(s)}", $"write -z {K(cluster + s)} {K(s)}", $"write -z 32M {K(cluster)}",
            "write -P 0x55 4M 512");
    }

    private static CorpusCase Create(string name, string options, string size, Action<CaseBuilder> then) =>
        CorpusCase.Created(name, "extended_l2=on" + (options.Length == 0 ? "" : "," + options), size, then);

    /// <summary>Every case of this group.</summary>
    public static IEnumerable<CorpusCase> All()
    {
        foreach (int c in ClusterSizes)
        {
            yield return Create($"y_extended_l2_cluster_{K(c)}", $"cluster_size={K(c)}", "64M", b => Workload(b, c));
        }
        // Every other 2 KiB subcluster of cluster 0, each with its own pattern, and an unaligned write inside one.
        yield return Create("y_extended_l2_alternate_subclusters", "", "4M", b =>
        {
            b.Io([.. Enumerable.Range(0, 16).Select(i => $"write -P 0x{0x20 + i:x2} {K(i * 4096)} 2k")]);
            b.Io("write -P 0x61 70000 300", "write -P 0x62 131070 4");
        });
        yield return Create("y_extended_l2_zero_subclusters", "", "4M", b =>
        {
            b.Io("write -P 0x11 0 256k");
            b.Io("write -z 2k 2k", "write -z 10k 6k", "write -z -u 64k 4k", "write -z 128k 64k", "discard 192k 64k", "write -z 1M 2k");
        });
        yield return Create("y_extended_l2_compressed", "", "4M", b =>
        {
            b.Io("write -c -P 0x22 0 64k", "write -c -P 0x23 64k 64k", "write -c -P 0x24 128k 64k", "write -c -P 0x25 192k 64k");
            b.Io("write -P 0x26 1k 2k", "write -z 64k 4k", "write -z 128k 64k", "write -z -u 192k 64k");
        });
        yield return new("y_extended_l2_compressed_convert", b =>
        {
            string raw = b.RandomFile("source.raw", 4 << 20, 32768);
            b.Img("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "extended_l2=on,cluster_size=32k", raw, "{img}");
        });
        yield return Create("y_extended_l2_prealloc_metadata", "preallocation=metadata", "8M", b => b.Io("write -P 0x11 1M 3k", "write -z 2M 2k"));
        yield return Create("y_extended_l2_refcount_bits_1", "refcount_bits=1,cluster_size=16k", "8M", b => b.Io("write -P 0x11 0 1k", "write -P 0x12 5k 1k"));
        yield return Create("y_extended_l2_snapshot", "", "8M", b =>
        {
            b.Io("write -P 0x11 0 64k", "write -P 0x12 128k 2k");
            b.Img("snapshot", "-c", "s1", "{img}");
            b.Io("write -P 0x13 4k 2k", "write -z 8k 2k", "write -P 0x14 130k 2k");
        });
        foreach (var c in Backing())
        {
            yield return c;
        }
        foreach (var c in ContradictoryBits())
        {
            yield return c;
        }
    }

    /// <summary>A qcow2 backing file {d}/base.qcow2 (4 MiB: a pattern over the first MiB and at 3M).</summary>
    private static void Base(CaseBuilder b, string options)
    {
        b.Img("create", "-q", "-f", "qcow2", "-o", options, "{abs}/base.qcow2", "4M");
        b.IoOn("{abs}/base.qcow2", "write -P 0xb1 0 1M", "write -P 0xb2 3M 64k");
    }

    private static IEnumerable<CorpusCase> Backing()
    {
        // Subclusters the overlay does not allocate read through to the backing file; zero ones read as zeros.
        static void Overlay(CaseBuilder b, string options)
        {
            b.Img("create", "-q", "-f", "qcow2", "-o", options, "-b", "{d}/base.qcow2", "-F", "qcow2", "{img}", "4M");
            b.Io("write -P 0xc1 2k 2k", "write -P 0xc2 8k 4k", "write -z 16k 2k", "write -P 0xc3 3147776 2k",
                "write -P 0xc4 70000 100", "write -z 2M 2k");
        }
        yield return new("y_extended_l2_backing", b => { Base(b, "compat=1.1"); Overlay(b, "extended_l2=on"); });
        yield return new("y_extended_l2_backing_both", b =>
        {
            Base(b, "extended_l2=on,cluster_size=16k");
            b.IoOn("{abs}/base.qcow2", "write -z 4k 512", "write -P 0xb3 16896 512");
            Overlay(b, "extended_l2=on,cluster_size=128k");
        });
        yield return new("y_extended_l2_backing_plain_overlay", b => { Base(b, "extended_l2=on"); Overlay(b, "compat=1.1"); });
    }

    /// <summary>Entries whose bits QEMU's reader must judge: both bits of one subcluster, bits on an unallocated or compressed cluster.</summary>
    private static IEnumerable<CorpusCase> ContradictoryBits()
    {
        // Subcluster 0 both allocated and zero: an invalid entry.
        yield return Create("n_extended_l2_allocated_and_zero", "", "4M", b =>
        {
            b.Io("write -P 0x11 0 64k");
            b.Mk("poke", "l2[0][0].bitmap", "0x00000001ffffffff");
        });
        // An allocation bit on an entry without a host offset: an invalid entry.
        yield return Create("n_extended_l2_allocated_without_offset", "", "4M", b =>
        {
            b.Io("write -P 0x11 0 64k");
            b.Mk("poke", "l2[0][1].bitmap", "0x0000000000000001");
        });
        // A compressed cluster's bitmap is reserved: QEMU ignores it and reads the compressed data.
        yield return Create("i_extended_l2_compressed_with_bitmap", "", "4M", b =>
        {
            b.Io("write -c -P 0x22 0 64k");
            b.Mk("poke", "l2[0][0].bitmap", "0xffff0000ffff0000");
        });
    }
}
