namespace Qcow2.Corpus;

/// <summary>
/// The valid (and a few invalid) cases about structures around the data: backing chains, snapshots, bitmaps,
/// header extensions and feature bits. Backing files live in NAME.d/ beside NAME.qcow2.
/// </summary>
public static class StructureCases
{
    private static CorpusCase Create(string name, string options, string size, Action<CaseBuilder> then) =>
        CorpusCase.Created(name, options, size, then);

    /// <summary>A qcow2 backing file {d}/NAME with a pattern over its first MiB and at 3M (when it is that long).</summary>
    private static void QcowBase(CaseBuilder b, string name, string size = "4M", string options = "")
    {
        string[] o = options.Length == 0 ? [] : ["-o", options];
        b.Img(["create", "-q", "-f", "qcow2", .. o, $"{{abs}}/{name}", size]);
        b.IoOn($"{{abs}}/{name}", size == "1M" ? ["write -P 0xb1 0 1M"] : ["write -P 0xb1 0 1M", "write -P 0xb2 3M 64k"]);
    }

    /// <summary>An overlay of backing (as named) with format fmt, and writes over part of the backing data.</summary>
    private static void Overlay(CaseBuilder b, string backing, string fmt, string size = "4M", string options = "")
    {
        string[] o = options.Length == 0 ? [] : ["-o", options];
        b.Img(["create", "-q", "-f", "qcow2", .. o, "-b", backing, "-F", fmt, "{img}", size]);
        b.Io("write -P 0xc1 64k 64k", "write -P 0xc2 200k 4k");
    }

    /// <summary>Every case of this group.</summary>
    public static IEnumerable<CorpusCase> All() =>
        Backing().Concat(Snapshots()).Concat(Bitmaps()).Concat(Headers()).Concat(DataFiles());

    private static IEnumerable<CorpusCase> Backing()
    {
        yield return new("y_backing_raw_relative", b =>
            Overlay(b, b.RawFile("base.raw", 4 << 20, (0, 1 << 20, 0xb1), (3 << 20, 65536, 0xb2)), "raw"));
        yield return new("y_backing_raw_absolute", b =>
        {
            b.RawFile("base.raw", 4 << 20, (0, 1 << 20, 0xb1));
            Overlay(b, "{abs}/base.raw", "raw");
        });
        yield return new("y_backing_qcow2_relative", b => { QcowBase(b, "base.qcow2"); Overlay(b, "{d}/base.qcow2", "qcow2"); });
        yield return new("y_backing_qcow2_absolute", b => { QcowBase(b, "base.qcow2"); Overlay(b, "{abs}/base.qcow2", "qcow2"); });
        yield return new("y_backing_chain_of_three", b =>
        {
            b.RawFile("base.raw", 4 << 20, (0, 2 << 20, 0xb1));
            b.Img("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "{abs}/mid.qcow2", "4M");
            b.IoOn("{abs}/mid.qcow2", "write -P 0xd1 1M 1M", "write -z 1536k 64k");
            Overlay(b, "{d}/mid.qcow2", "qcow2");
        });
        yield return new("y_backing_shorter_than_overlay", b =>
        {
            QcowBase(b, "base.qcow2", "1M");
            Overlay(b, "{d}/base.qcow2", "qcow2", "8M");
            b.Io("write -P 0xc3 7M 64k");
        });
        yield return new("y_backing_longer_than_overlay", b => { QcowBase(b, "base.qcow2", "16M"); Overlay(b, "{d}/base.qcow2", "qcow2", "2M"); });
        yield return new("y_backing_zero_over_backing", b =>
        {
            QcowBase(b, "base.qcow2");
            Overlay(b, "{d}/base.qcow2", "qcow2");
            b.Io("write -z 256k 128k", "write -z 512k 4k", "discard 768k 64k");
        });
        yield return new("y_backing_partial_cluster_cow", b =>
        {
            QcowBase(b, "base.qcow2", "4M", "cluster_size=4k");
            Overlay(b, "{d}/base.qcow2", "qcow2", "4M", "cluster_size=1M");
        });
        yield return new("y_backing_v2_overlay", b => { QcowBase(b, "base.qcow2", "4M", "compat=0.10"); Overlay(b, "{d}/base.qcow2", "qcow2", "4M", "compat=0.10"); });
        yield return new("y_backing_format_probed", b =>
        {
            QcowBase(b, "base.qcow2");
            Overlay(b, "{d}/base.qcow2", "qcow2");
            b.Mk("del-header-ext", "0xe2792aca");
        });
        yield return new("y_backing_compressed_overlay", b =>
        {
            QcowBase(b, "base.qcow2");
            Overlay(b, "{d}/base.qcow2", "qcow2");
            b.Io("write -c -P 0xc4 1M 64k");
        });
        yield return new("n_backing_missing", b => { QcowBase(b, "base.qcow2"); Overlay(b, "{d}/base.qcow2", "qcow2"); File.Delete(b.SidePath("base.qcow2")); });
        yield return new("n_backing_format_wrong", b =>
        {
            b.RawFile("base.raw", 4 << 20, (0, 1 << 20, 0xb1));
            b.Img("create", "-q", "-f", "qcow2", "-u", "-b", "{d}/base.raw", "-F", "qcow2", "{img}", "4M");
        });
    }

    private static IEnumerable<CorpusCase> Snapshots()
    {
        yield return Create("y_snapshot_one", "", "8M", b =>
        {
            b.Io("write -P 0x11 0 1M");
            b.Img("snapshot", "-c", "s1", "{img}");
            b.Io("write -P 0x12 512k 1M", "write -z 2M 64k");
        });
        yield return Create("y_snapshot_three", "cluster_size=4k", "8M", b =>
        {
            foreach (int i in new[] { 1, 2, 3 })
            {
                b.Io($"write -P 0x{i}1 {i * 512}k 300k");
                b.Img("snapshot", "-c", $"s{i}", "{img}");
            }
            b.Io("write -P 0x44 600k 100k");
        });
        yield return Create("y_snapshot_deleted", "", "8M", b =>
        {
            b.Io("write -P 0x11 0 1M");
            b.Img("snapshot", "-c", "s1", "{img}");
            b.Io("write -P 0x12 0 512k");
            b.Img("snapshot", "-d", "s1", "{img}");
        });
        yield return Create("y_snapshot_applied", "", "8M", b =>
        {
            b.Io("write -P 0x11 0 1M");
            b.Img("snapshot", "-c", "s1", "{img}");
            b.Io("write -P 0x12 0 2M");
            b.Img("snapshot", "-a", "s1", "{img}");
        });
        yield return Create("y_snapshot_v2", "compat=0.10", "8M", b =>
        {
            b.Io("write -P 0x11 0 1M");
            b.Img("snapshot", "-c", "s1", "{img}");
            b.Io("write -P 0x12 256k 64k");
        });
        yield return Create("y_snapshot_compressed_shared", "", "8M", b =>
        {
            b.Io("write -c -P 0x11 0 64k", "write -P 0x13 1M 64k");
            b.Img("snapshot", "-c", "s1", "{img}");
            b.Io("write -P 0x12 0 4k");
        });
    }

    private static IEnumerable<CorpusCase> Bitmaps()
    {
        yield return Create("y_bitmap_one", "", "8M", b =>
        {
            b.Img("bitmap", "--add", "{img}", "b0");
            b.Io("write -P 0x11 0 1M");
        });
        yield return Create("y_bitmap_disabled_and_enabled", "", "8M", b =>
        {
            b.Io("write -P 0x11 0 1M");
            b.Img("bitmap", "--add", "-g", "128k", "{img}", "b0");
            b.Img("bitmap", "--add", "--disable", "{img}", "b1");
        });
        yield return Create("y_bitmap_cluster_512", "cluster_size=512", "8M", b =>
        {
            b.Img("bitmap", "--add", "{img}", "b0");
            b.Io("write -P 0x11 0 64k");
        });
    }

    private static IEnumerable<CorpusCase> Headers()
    {
        yield return Create("y_extension_unknown", "", "4M", b => { b.Mk("add-header-ext", "0x12345678", "hello world"); b.Io("write -P 0x11 0 64k"); });
        yield return Create("y_extension_unknown_two", "", "4M", b =>
        {
            b.Mk("add-header-ext", "0x12345678", "first");
            b.Mk("add-header-ext", "0x0badcafe", "second, a little longer than eight bytes");
            b.Io("write -P 0x11 0 64k");
        });
        yield return Create("y_extension_no_feature_table", "", "4M", b => { b.Io("write -P 0x11 0 64k"); b.Mk("del-header-ext", "0x6803f857"); });
        yield return Create("y_extension_unknown_v2", "compat=0.10", "4M", b => { b.Io("write -P 0x11 0 64k"); b.Mk("add-header-ext", "0x12345678", "v2 too"); });
        yield return Create("y_lazy_refcounts", "lazy_refcounts=on", "4M", b => b.Io("write -P 0x11 0 64k", "write -z 64k 64k"));
        yield return Create("y_lazy_refcounts_dirty", "lazy_refcounts=on", "4M", b => { b.Io("write -P 0x11 0 64k"); b.Mk("set-feature-bit", "incompatible", "0"); });
        yield return Create("y_compatible_bit_unknown", "", "4M", b => { b.Io("write -P 0x11 0 64k"); b.Mk("set-feature-bit", "compatible", "42"); });
        yield return Create("y_autoclear_bit_unknown", "", "4M", b => { b.Io("write -P 0x11 0 64k"); b.Mk("set-feature-bit", "autoclear", "42"); });
        yield return Create("n_incompatible_bit_unknown", "", "4M", b => { b.Io("write -P 0x11 0 64k"); b.Mk("set-feature-bit", "incompatible", "42"); });
        yield return Create("i_corrupt_bit", "", "4M", b => { b.Io("write -P 0x11 0 64k"); b.Mk("set-feature-bit", "incompatible", "1"); });
    }

    /// <summary>
    /// External data files (incompatible feature bit 2): the guest data lives in {d}/data.raw, named by its absolute
    /// path, because QEMU 7.2 opens a relative data file name relative to its working directory, not to the image.
    /// </summary>
    private static IEnumerable<CorpusCase> DataFiles()
    {
        string[] writes = ["write -P 0x11 0 64k", "write -P 0x22 130560 7k", "write -z 16k 8k", "write -z 1M 128k", "write -P 0x33 4032k 64k"];
        yield return Create("y_data_file", "data_file={abs,}/data.raw", "4M", b => b.Io(writes));
        yield return Create("y_data_file_raw", "data_file={abs,}/data.raw,data_file_raw=on", "4M", b => b.Io(writes));
        yield return Create("y_data_file_extended_l2", "data_file={abs,}/data.raw,extended_l2=on", "4M",
            b => b.Io([.. writes, "write -P 0x44 2k 2k", "write -z 200k 2k"]));
        yield return new("y_data_file_over_backing", b =>
        {
            b.RawFile("base.raw", 4 << 20, (0, 1 << 20, 0xb1));
            b.Img("create", "-q", "-f", "qcow2", "-o", "data_file={abs,}/data.raw", "-b", "{abs}/base.raw", "-F", "raw", "{img}", "4M");
            b.Io("write -P 0xc1 64k 64k", "write -P 0xc2 200k 4k", "write -z 512k 64k");
        });
        yield return Create("n_data_file_missing", "data_file={abs,}/data.raw", "4M", b =>
        {
            b.Io(writes);
            File.Delete(b.SidePath("data.raw"));
        });
    }
}
