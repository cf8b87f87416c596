using System.Globalization;

namespace Qcow2.Corpus;

/// <summary>
/// The valid cases about the format's basics: cluster sizes, refcount widths, versions, zero and compressed
/// clusters, sizes not aligned to clusters and large virtual sizes.
/// </summary>
public static class FormatCases
{
    private static readonly int[] ClusterSizes = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1 << 20, 2 << 20];

    private static string K(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>A mixed workload for a cluster size: data, an unaligned write across clusters, a compressed cluster, zeros and the last cluster.</summary>
    private static void Workload(CaseBuilder b, int cluster, bool v3)
    {
        b.Io("write -P 0x11 0 64k", "write -P 0x22 1024512 7k", $"write -c -P 0x44 8M {K(cluster)}", "write -P 0x33 63M 1M");
        b.Io(v3 ? "write -z 32k 16k" : "write -z 4k 2k", "write -P 0x55 4M 512");
    }

    private static CorpusCase Create(string name, string options, string size, Action<CaseBuilder> then) =>
        CorpusCase.Created(name, options, size, then);

    /// <summary>Every case of this group.</summary>
    public static IEnumerable<CorpusCase> All()
    {
        foreach (int c in ClusterSizes)
        {
            yield return Create($"y_cluster_size_{K(c)}", $"cluster_size={K(c)}", "64M", b => Workload(b, c, true));
        }
        foreach (int c in new[] { 512, 4096, 65536, 2 << 20 })
        {
            yield return Create($"y_v2_cluster_size_{K(c)}", $"compat=0.10,cluster_size={K(c)}", "64M", b => Workload(b, c, false));
        }
        foreach (int w in new[] { 1, 2, 4, 8, 16, 32, 64 })
        {
            yield return Create($"y_refcount_bits_{K(w)}", $"refcount_bits={K(w)}", "64M", b => Workload(b, 65536, true));
            yield return Create($"y_refcount_bits_{K(w)}_cluster_512", $"refcount_bits={K(w)},cluster_size=512", "8M", b =>
                b.Io("write -P 0x11 0 64k", "write -c -P 0x44 1M 512", "write -P 0x33 7M 1M"));
        }
        foreach (var c in ZeroCases())
        {
            yield return c;
        }
        foreach (var c in CompressedCases())
        {
            yield return c;
        }
        foreach (var c in SizeCases())
        {
            yield return c;
        }
    }

    private static IEnumerable<CorpusCase> ZeroCases()
    {
        yield return Create("y_zero_unallocated", "", "16M", b => b.Io("write -z 0 1M", "write -P 0x11 2M 64k"));
        yield return Create("y_zero_over_data", "", "16M", b => b.Io("write -P 0x11 0 1M", "write -z 64k 128k"));
        yield return Create("y_zero_over_data_unmap", "", "16M", b => b.Io("write -P 0x11 0 1M", "write -z -u 64k 128k"));
        yield return Create("y_zero_partial_cluster", "", "16M", b => b.Io("write -P 0x11 0 1M", "write -z 4k 8k", "write -z 100k 1k"));
        yield return Create("y_zero_after_compressed", "", "16M", b => b.Io("write -P 0x11 0 64k", "write -c -P 0x22 64k 64k", "write -z 128k 64k"));
        yield return Create("y_zero_over_compressed", "", "16M", b => b.Io("write -c -P 0x22 0 64k", "write -c -P 0x23 64k 64k", "write -z 0 64k"));
        yield return Create("y_discard", "", "16M", b => b.Io("write -P 0x11 0 1M", "discard 128k 256k"));
        yield return Create("y_v2_zero_and_discard", "compat=0.10", "16M", b => b.Io("write -P 0x11 0 1M", "write -z 64k 64k", "discard 256k 128k"));
        yield return Create("y_prealloc_metadata", "preallocation=metadata", "8M", b => b.Io("write -P 0x11 1M 64k"));
        yield return Create("y_prealloc_metadata_zero", "preallocation=metadata", "8M", b => b.Io("write -P 0x11 0 256k", "write -z 64k 64k"));
        yield return Create("y_prealloc_metadata_v2", "compat=0.10,preallocation=metadata", "8M", b => b.Io("write -P 0x11 1M 64k"));
        yield return Create("y_prealloc_falloc", "preallocation=falloc", "4M", b => b.Io("write -P 0x11 1M 64k", "write -z 2M 64k"));
        yield return Create("y_prealloc_full", "preallocation=full", "4M", b => b.Io("write -P 0x11 1M 64k", "write -z 2M 64k"));
        yield return Create("y_prealloc_metadata_cluster_512", "preallocation=metadata,cluster_size=512", "2M", b => b.Io("write -P 0x11 1000 3000"));
    }

    private static IEnumerable<CorpusCase> CompressedCases()
    {
        foreach (int c in new[] { 512, 4096, 65536, 2 << 20 })
        {
            yield return new($"y_compressed_random_cluster_{K(c)}", b =>
            {
                string raw = b.RandomFile("source.raw", 6 << 20, c);
                b.Img("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", $"cluster_size={K(c)}", raw, "{img}");
            });
        }
        yield return new("y_compressed_v2", b =>
        {
            string raw = b.RandomFile("source.raw", 2 << 20, 7);
            b.Img("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10", raw, "{img}");
        });
        yield return Create("y_compressed_then_partial_overwrite", "", "4M", b => b.Io("write -c -P 0x22 0 64k", "write -c -P 0x23 64k 64k", "write -P 0x24 1k 2k"));
        yield return Create("y_compressed_unaligned_size_tail", "", "1000k", b => b.Io("write -c -P 0x22 960k 40k"));
        yield return Create("y_compressed_refcount_bits_1", "refcount_bits=1", "4M", b => b.Io("write -c -P 0x22 0 64k", "write -c -P 0x23 64k 64k", "write -c -P 0x24 128k 64k"));
        // zstd clusters (compression_type=zstd): one frame per cluster, read until the cluster is full.
        foreach (int c in new[] { 4096, 65536 })
        {
            yield return new($"y_compressed_zstd_random_cluster_{K(c)}", b =>
            {
                string raw = b.RandomFile("source.raw", 4 << 20, c + 1);
                b.Img("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", $"compression_type=zstd,cluster_size={K(c)}", raw, "{img}");
            });
        }
        yield return Create("y_compressed_zstd_then_partial_overwrite", "compression_type=zstd", "4M",
            b => b.Io("write -c -P 0x22 0 64k", "write -c -P 0x23 64k 64k", "write -P 0x24 1k 2k"));
    }

    private static IEnumerable<CorpusCase> SizeCases()
    {
        foreach (string s in new[] { "512", "1536", "65537", "100000", "1048064", "1049088" })
        {
            yield return Create($"y_size_{s}", "", s, b =>
            {
                long size = (long.Parse(s, CultureInfo.InvariantCulture) + 511) / 512 * 512;
                b.Io($"write -P 0x5c {K(size - 512)} 512", "write -P 0x5d 0 512");
            });
        }
        yield return Create("y_size_100000_v2", "compat=0.10", "100000", b => b.Io("write -P 0x5c 99840 512"));
        yield return Create("y_size_3M_plus_512_cluster_2M", "cluster_size=2M", "3146240", b => b.Io("write -P 0x5c 3M 512", "write -P 0x5d 1M 1M"));
        yield return Create("y_size_0", "", "0", _ => { });
        yield return Create("y_size_4G_plus_64k", "", "4194368k", b => b.Io("write -P 0x61 4194303k 2k", "write -P 0x62 2G 64k", "write -P 0x63 4194304k 64k"));
        yield return Create("y_l1_many_entries_cluster_512", "cluster_size=512", "256M", b => b.Io("write -P 0x61 0 512", "write -P 0x62 128M 4k", "write -P 0x63 255M 1M"));
    }
}
