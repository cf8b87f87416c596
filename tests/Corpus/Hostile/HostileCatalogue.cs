using static Qcow2.Corpus.Hostile.HostileImage;

namespace Qcow2.Corpus.Hostile;

/// <summary>
/// The bad inputs of the reference catalogue (§4.5, after iotest 080 and 036) and the §1.1 header checks, each as a
/// poke into a fresh qemu-img image (64 MiB, version 3, 64 KiB clusters, header_length 112, feature table at 112).
/// </summary>
public static class HostileCatalogue
{
    // Header field offsets (qcow2 spec, §1.1).
    private const long Magic = 0, Version = 4, BackingFileOffset = 8, BackingFileSize = 16, ClusterBits = 20, Size = 24,
        CryptMethod = 32, L1Size = 36, L1TableOffset = 40, RefcountTableOffset = 48, RefcountTableClusters = 56,
        NbSnapshots = 60, SnapshotsOffset = 64, Incompatible = 72, Autoclear = 88, RefcountOrder = 96, HeaderLength = 100,
        CompressionType = 104;

    /// <summary>Where a fresh image's first header extension (the feature name table) starts.</summary>
    private const long FirstExtension = 112;

    /// <summary>The first entry of the fresh image's feature name table ("dirty bit").</summary>
    private const long FirstFeatureEntry = FirstExtension + 8;

    /// <summary>The fresh image's first L2 table (after a write to guest offset 0).</summary>
    private const long FirstL2 = 0x40000;

    private static Func<string, IEnumerable<Poke>> At(params (long Offset, byte[] Data)[] pokes) =>
        _ => pokes.Select(p => new Poke(p.Offset, p.Data));

    private static readonly string[][] WriteFirstCluster = [["qemu-io", "-c", "write -P 0x5a 0 64k", "t.img"]];
    private static readonly string[][] WithSnapshot = [["qemu-io", "-c", "write -P 0x5a 0 64k", "t.img"], ["qemu-img", "snapshot", "-c", "test", "t.img"]];

    private static readonly (string, string[])[] SnapshotCreate = [("qimg", ["snapshot", "-c", "test", "t.img"])];

    /// <summary>
    /// The whole-image commands that treat a table of 65536 snapshots differently (list it, rewrite it for compat=0.10):
    /// QEMU 7.2 reads the entries one by one, 3 to 10 s of CPU per command here even on one CPU, and every other command
    /// opens the image the same way. Checking and repairing a table that size is compared once, on CheckInteropTests'
    /// snapshot-count-too-high (65537 entries, the first ones real and the rest zeros).
    /// </summary>
    private static readonly string[] SnapshotTableCommands = ["snapshot-l", "amend-compat"];
    private static readonly (string, string[])[] SnapshotUse =
    [
        ("qimg", ["snapshot", "-l", "t.img"]),
        ("qimg", ["snapshot", "-a", "test", "t.img"]),
        ("qimg", ["snapshot", "-d", "test", "t.img"]),
        ("qimg", ["check", "t.img"]),
    ];

    /// <summary>Where entry j of the L2 table that L1 entry i points to lies, read from the image.</summary>
    private static long L2Slot(string path, long i, long j) =>
        (long)(ReadU64(path, (long)ReadU64(path, L1TableOffset) + 8 * i) & 0x00fffffffffffe00UL) + 8 * j;

    /// <summary>The first snapshot table entry's offset, read from the header.</summary>
    private static long FirstSnapshotEntry(string path) => (long)ReadU64(path, SnapshotsOffset);

    /// <summary>Every hostile image by name.</summary>
    public static readonly Dictionary<string, HostileImage> All = new()
    {
        // 080: header_length
        ["header_length-ffffffff"] = new() { Pokes = At((HeaderLength, U32(0xffffffff))) },
        ["header_length-7fffffff"] = new() { Pokes = At((HeaderLength, U32(0x7fffffff))) },
        ["header_length-100-too-short"] = new() { Pokes = At((HeaderLength, U32(100))) },
        ["header_length-104"] = new() { Pokes = At((HeaderLength, U32(104))) },
        ["header_length-65536-whole-cluster"] = new() { Pokes = At((HeaderLength, U32(65536))) },
        // 080: backing_file_offset and extensions
        ["backing_file_offset-ffff-with-huge-extension"] = new()
        {
            Pokes = At((BackingFileOffset, U64(ulong.MaxValue)), (FirstExtension, [.. U32(0x12345678), .. U32(0x7fffffff)])),
        },
        ["huge-extension-area-ends-inside-its-header"] = new()
        {
            Pokes = At((BackingFileOffset, U64(FirstExtension + 4)), (FirstExtension, [.. U32(0x12345678), .. U32(0x7fffffff)])),
        },
        ["huge-extension-area-to-cluster-end"] = new() { Pokes = At((FirstExtension, [.. U32(0x12345678), .. U32(0x7fffffff)])) },
        ["extension-one-byte-too-long"] = new() { Pokes = At((FirstExtension + 4, U32(65536 - 120 + 1))) },
        ["backing_file_size-ffffffff"] = new() { Pokes = At((BackingFileOffset, U64(0x1000)), (BackingFileSize, U32(0xffffffff))) },
        ["backing_file_size-1024"] = new() { Pokes = At((BackingFileOffset, U64(0x1000)), (BackingFileSize, U32(1024))) },
        ["backing-name-past-cluster-end"] = new() { Pokes = At((BackingFileOffset, U64(65536 - 10)), (BackingFileSize, U32(100))) },
        ["backing_file_offset-inside-header"] = new() { Pokes = At((BackingFileOffset, U64(8)), (BackingFileSize, U32(16))) },
        ["backing-format-extension-too-long"] = new()
        {
            Pokes = At((FirstExtension, Extension(0xe2792aca, "aaaaaaaaaaaaaaaa"u8.ToArray()))),
        },
        // 080: refcount table
        ["refcount_table_clusters-ffffffff"] = new() { Pokes = At((RefcountTableClusters, U32(0xffffffff))) },
        ["refcount_table_clusters-00020001"] = new() { Pokes = At((RefcountTableClusters, U32(0x00020001))) },
        ["refcount_table_clusters-0"] = new() { Pokes = At((RefcountTableClusters, U32(0))) },
        ["refcount_table_offset-misaligned"] = new() { Pokes = At((RefcountTableOffset, U64(0x1234567890abcdef))) },
        ["refcount_table_offset-past-int64"] = new()
        {
            Pokes = At((RefcountTableOffset, U64(0xffffffffffff0000)), (RefcountTableClusters, U32(0x7f))),
        },
        // Issue 10, item 4: values QEMU 7.2 handles (checks, repairs, converts or refuses with its own message)
        ["refcount_table-entry-2^63"] = new()
        {
            Before = WriteFirstCluster,
            Pokes = p => [new Poke((long)ReadU64(p, RefcountTableOffset), U64(0x8000000000000000))],
            Extra = [("qio", ["-c", "read -P 0x5a 0 64k", "t.img"]), ("qio", ["-c", "write -P 0x33 0 4k", "t.img"])],
        },
        ["l1_table_offset-far-past-eof"] = new()
        {
            Before = WriteFirstCluster,
            Pokes = At((L1TableOffset, U64(0x7fffffffffff0000))),
            Extra = [("qio", ["-c", "write -P 0x33 0 4k", "t.img"])],
        },
        ["nb_snapshots-ffffffff-with-bitmap"] = new()
        {
            Before = [["qemu-io", "-c", "write -P 0x5a 0 64k", "t.img"], ["qemu-img", "bitmap", "--add", "t.img", "b0"]],
            Pokes = At((NbSnapshots, U32(0xffffffff))),
            Extra = [("qimg", ["check", "-r", "all", "t.img"])],
        },
        // Fuzz finding (FUZZ_SEED=1 FUZZ_REPLAY=10600): freeing a cluster 1 GiB past the end needs a new refcount block;
        // the retry this makes (QEMU's -EAGAIN) leaked its .NET type name into "qcow2_free_clusters failed: ...".
        ["fuzz-l2-entry-1GiB-freed-by-discard"] = new()
        {
            Size = "64k",
            Options = "compat=0.10,cluster_size=512",
            Before = [["qemu-io", "-c", "write -P 0x99 0 2k", "t.img"], ["qemu-img", "snapshot", "-c", "old", "t.img"], ["qemu-io", "-c", "write -P 0x9a 1k 1k", "t.img"]],
            Pokes = p => [new Poke(L2Slot(p, 0, 36), U64(0x40000000))],
            Commands = [("qio", ["-c", "write -P 0x77 0 4k", "-c", "write -z 8k 4k", "-c", "discard 16k 4k", "-c", "read -P 0x77 0 4k", "t.img"])],
        },
        // 080: snapshot table
        ["nb_snapshots-ffffffff"] = new() { Pokes = At((NbSnapshots, U32(0xffffffff))) },
        ["nb_snapshots-7fffffff"] = new() { Pokes = At((NbSnapshots, U32(0x7fffffff))) },
        ["snapshots_offset-past-int64"] = new()
        {
            Pokes = At((SnapshotsOffset, U64(0xffffffffffff0000)), (NbSnapshots, U32(0xffff))),
        },
        ["snapshots_offset-misaligned-no-snapshots"] = new() { Pokes = At((SnapshotsOffset, U64(0x1234567890abcdef))) },
        ["snapshots-65536-at-16M-then-snapshot-c"] = new()
        {
            Pokes = At((SnapshotsOffset, U64(16 << 20)), (NbSnapshots, U32(0x10000))),
            // QEMU takes seconds over 65536 snapshots: compare only what the row is about.
            Commands = [("qio", ["-f", "qcow2", "-c", "read 0 512", "t.img"]), .. SnapshotCreate],
            WholeImageCommands = SnapshotTableCommands,
        },
        // 080: active L1 table
        ["l1_size-ffffffff"] = new() { Pokes = At((L1Size, U32(0xffffffff))) },
        ["l1_size-7fffffff"] = new() { Pokes = At((L1Size, U32(0x7fffffff))) },
        ["l1_table_offset-past-int64"] = new()
        {
            Pokes = At((L1TableOffset, U64(0x7fffffffffff0000)), (L1Size, U32(0xffff))),
        },
        ["l1_table_offset-misaligned"] = new() { Pokes = At((L1TableOffset, U64(0x1234567890abcdef)), (L1Size, U32(1))) },
        ["l1_size-0"] = new() { Pokes = At((L1Size, U32(0))) },
        ["l1_size-0-with-snapshot"] = new() { Before = WithSnapshot, Pokes = At((L1Size, U32(0))) },
        // 080: L2 entries, then snapshot -c
        ["l2-reserved-bits-and-huge-offset"] = new()
        {
            Before = WriteFirstCluster,
            Pokes = At((FirstL2, U64(0xbfffffffffff0000))),
            Extra = SnapshotCreate,
        },
        ["l2-offset-1TiB-past-eof"] = new()
        {
            Before = WriteFirstCluster,
            Pokes = At((FirstL2, U64(0x800000ffffff0000))),
            Extra = SnapshotCreate,
        },
        // 080: snapshot L1 table of an internal snapshot
        ["snapshot-l1-offset-misaligned"] = new()
        {
            Before = WithSnapshot,
            Pokes = p => [new Poke(FirstSnapshotEntry(p), U64(0x400200))],
            Extra = SnapshotUse,
        },
        ["snapshot-l1-size-too-large"] = new()
        {
            Before = WithSnapshot,
            Pokes = p => [new Poke(FirstSnapshotEntry(p) + 8, U32(0x10000000))],
            Extra = SnapshotUse,
        },
        ["snapshot-extra-data-too-small"] = new()
        {
            Before = WithSnapshot,
            Pokes = p => [new Poke(FirstSnapshotEntry(p) + 36, U32(8))],
            Extra = SnapshotUse,
        },
        ["snapshot-extra-data-too-large"] = new()
        {
            Before = WithSnapshot,
            Pokes = p => [new Poke(FirstSnapshotEntry(p) + 36, U32(0x10000))],
            Extra = SnapshotUse,
        },
        // 036: feature bits
        ["unknown-incompatible-bit-63"] = new() { Pokes = At((Incompatible, U64(1UL << 63))) },
        ["unknown-incompatible-bit-named"] = new()
        {
            Pokes = At((Incompatible, U64(1UL << 62)), (FirstFeatureEntry, FeatureEntry(0, 62, "test feature"))),
        },
        ["unknown-incompatible-bits-named-and-not"] = new()
        {
            Pokes = At((Incompatible, U64(3UL << 62)), (FirstFeatureEntry, FeatureEntry(0, 62, "test feature"))),
        },
        ["unknown-incompatible-bit-no-feature-table"] = new() { Pokes = At((Incompatible, U64(1UL << 63)), (FirstExtension, U64(0))) },
        ["unknown-incompatible-bit-5"] = new() { Pokes = At((Incompatible, U64(1UL << 5))) },
        ["unknown-autoclear-bit"] = new() { Pokes = At((Autoclear, U64(1UL << 63))) },
        ["corrupt-bit"] = new() { Pokes = At((Incompatible, U64(2))) },
        ["dirty-bit-v3"] = new() { Before = WriteFirstCluster, Pokes = At((Incompatible, U64(1))) },
        ["feature-table-length-47"] = new() { Pokes = At((FirstExtension + 4, U32(47))) },
        ["compression-type-zstd-without-bit"] = new() { Pokes = At((CompressionType, [1])) },
        ["compression-type-2"] = new() { Pokes = At((Incompatible, U64(8)), (CompressionType, [2])) },
        ["compression-bit-with-zlib"] = new() { Pokes = At((Incompatible, U64(8))) },
        ["bitmaps-extension-wrong-length"] = new()
        {
            Pokes = At((Autoclear, U64(1)), (FirstExtension, Extension(0x23852875, new byte[16]))),
        },
        ["bitmaps-extension-no-bitmaps"] = new()
        {
            Pokes = At((Autoclear, U64(1)), (FirstExtension, Extension(0x23852875, new byte[24]))),
        },
        ["bitmaps-extension-reserved-not-zero"] = new()
        {
            Pokes = At((Autoclear, U64(1)), (FirstExtension, Extension(0x23852875, [0, 0, 0, 1, 0, 0, 0, 1, .. new byte[16]]))),
        },
        ["bitmaps-extension-65536-bitmaps"] = new()
        {
            Pokes = At((Autoclear, U64(1)), (FirstExtension, Extension(0x23852875, [0, 1, 0, 0, .. new byte[20]]))),
        },
        ["bitmaps-extension-directory-misaligned"] = new()
        {
            Pokes = At((Autoclear, U64(1)), (FirstExtension, Extension(0x23852875, [.. U32(1), .. U32(0), .. U64(64), .. U64(0x10200)]))),
        },
        ["bitmaps-extension-directory-too-large"] = new()
        {
            Pokes = At((Autoclear, U64(1)), (FirstExtension, Extension(0x23852875, [.. U32(1), .. U32(0), .. U64(1UL << 40), .. U64(0x10000)]))),
        },
        ["bitmaps-extension-without-autoclear-bit"] = new()
        {
            Pokes = At((FirstExtension, Extension(0x23852875, [.. U32(1), .. U32(0), .. U64(1UL << 40), .. U64(0x10000)]))),
            StderrDiffers = "QEMU warns 'a program lacking bitmap support modified this file ...'; the engine has no program name to prefix warnings with",
        },
        ["data-file-raw-without-data-file"] = new() { Pokes = At((Autoclear, U64(2))) },
        ["external-data-file-bit"] = new()
        {
            Pokes = At((Incompatible, U64(4))),
        },
        ["extended-l2-bit"] = new() { Pokes = At((Incompatible, U64(16))) },
        // §1.1 field checks
        ["magic-wrong"] = new() { Pokes = At((Magic, U32(0x514649fa))) },
        ["version-0"] = new() { Pokes = At((Version, U32(0))) },
        ["version-1"] = new()
        {
            Pokes = At((Version, U32(1))),
            ProbedDifferently = "QEMU probes a version-1 file as QCOW (v1), a driver this project does not have",
        },
        ["version-4"] = new() { Pokes = At((Version, U32(4))) },
        ["version-ffffffff"] = new() { Pokes = At((Version, U32(0xffffffff))) },
        ["version-2-with-v3-fields"] = new() { Pokes = At((Version, U32(2))) },
        ["cluster_bits-8"] = new() { Pokes = At((ClusterBits, U32(8))) },
        ["cluster_bits-9"] = new() { Pokes = At((ClusterBits, U32(9))) },
        ["cluster_bits-21"] = new() { Pokes = At((ClusterBits, U32(21))) },
        ["cluster_bits-22"] = new() { Pokes = At((ClusterBits, U32(22))) },
        ["cluster_bits-63"] = new() { Pokes = At((ClusterBits, U32(63))) },
        ["cluster_bits-ffffffff"] = new() { Pokes = At((ClusterBits, U32(0xffffffff))) },
        ["refcount_order-7"] = new() { Pokes = At((RefcountOrder, U32(7))) },
        ["refcount_order-255"] = new() { Pokes = At((RefcountOrder, U32(255))) },
        ["crypt_method-3"] = new() { Pokes = At((CryptMethod, U32(3))) },
        ["crypt_method-aes"] = new() { Pokes = At((CryptMethod, U32(1))) },
        ["crypt_method-luks-without-header"] = new()
        {
            Pokes = At((CryptMethod, U32(2))),
            RefusedByDesign = "qemu-img info of a LUKS image without its header crashes QEMU 7.2 (SIGSEGV); the engine reports the missing header",
        },
        ["size-2^64-1"] = new() { Pokes = At((Size, U64(ulong.MaxValue))) },
        ["size-2^63-1"] = new() { Pokes = At((Size, U64(long.MaxValue))) },
        ["size-1PiB"] = new() { Pokes = At((Size, U64(1UL << 50))) },
        ["size-0"] = new() { Pokes = At((Size, U64(0))) },
        // Truncated and tiny files
        ["truncated-10-bytes"] = new() { TruncateTo = 10 },
        ["truncated-header-only"] = new() { TruncateTo = 512 },
        ["truncated-before-l1"] = new() { TruncateTo = 0x30000 },
        ["ten-zero-bytes"] = new() { Contents = new byte[10] },
        ["empty-file"] = new() { Contents = [] },
        ["magic-only"] = new() { Contents = [0x51, 0x46, 0x49, 0xfb] },
        // Tables so large that a naive engine would allocate gigabytes (QEMU's limits let some through)
        ["l1_size-max-4Mi-entries"] = new() { Pokes = At((L1Size, U32(0x400000))) },
        ["l1_size-max-plus-one"] = new() { Pokes = At((L1Size, U32(0x400001))) },
        ["refcount_table-max-8MiB"] = new() { Pokes = At((RefcountTableClusters, U32(128))) },
        ["snapshots-65536-past-eof"] = new()
        {
            Pokes = At((SnapshotsOffset, U64(1 << 30)), (NbSnapshots, U32(0x10000))),
            Commands = [("qimg", ["info", "-f", "qcow2", "--output=json", "t.img"])],
            // None of the whole-image commands: QEMU's snapshot -l and amend print here what they print on
            // snapshots-65536-at-16M (the same 65536 zero entries past the end); info, what this row is about, is compared.
            WholeImageCommands = [],
        },
        ["snapshots-65537"] = new()
        {
            Pokes = At((SnapshotsOffset, U64(1 << 30)), (NbSnapshots, U32(0x10001))),
            // Every whole-image command but check -r all: QEMU's repair here (discard the overhanging snapshot, then read
            // and rewrite 65536 zero entries, about 8 s of CPU) is the one CheckInteropTests compares byte for byte on
            // snapshot-count-too-high (65537 entries, the first real, the rest zeros), and a left-out QEMU run cannot
            // tell our repair from a stray write.
            WholeImageCommands = ["map", "check", "snapshot-l", "convert-raw", "convert-qcow2", "compare", "bitmap-add", "rebase-u", "commit",
                "resize", "amend-compat", "info-chain", "measure"],
        },
        ["size-2^55-l1-max-2M-clusters"] = new()
        {
            Options = "cluster_size=2M",
            Pokes = At((Size, U64(1UL << 55)), (L1Size, U32(0x400000))),
            // QEMU walks all 2^55 bytes' block status for map, compare and measure: 6 to 12 s of CPU each here. Its map
            // stands for that walk; our compare and measure still run, bounded, unchanged image.
            QemuLeftOut = ["compare", "measure"],
        },
        ["l2-entry-compressed-max-sectors"] = new()
        {
            Options = "cluster_size=2M",
            Before = [["qemu-io", "-c", "write -P 0x5a 0 2M", "t.img"]],
            Pokes = At((8L << 20, U64(0x7fffffffffffffff))),
        },
    };
}
