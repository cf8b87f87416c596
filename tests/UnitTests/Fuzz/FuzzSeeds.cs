using Qcow2.Tools.Mkimage;

namespace Qcow2.UnitTests.Fuzz;

/// <summary>
/// The seed images: some built by the engine (mkimage build, the engine's layout, which is qemu-img's), and the
/// QEMU-made images checked in under Fuzz/seeds (rebuilt by seeds/make-seeds.sh with qemu-img and qemu-io 7.2):
/// 64 KiB to 1 MiB virtual, 512 B to 64 KiB clusters, refcount widths 1 to 64, version 2 and 3, internal snapshots,
/// compressed clusters, zero clusters, lazy refcounts and a persistent bitmap.
/// </summary>
internal static class FuzzSeeds
{
    /// <summary>mkimage build descriptions of the engine-made seeds.</summary>
    public static readonly string[] EngineDescriptions =
    [
        "size=1M cluster_size=512 write=0+4k@0x11 write=512k+3k@0x22",
        "size=256k cluster_size=4k refcount_bits=2 write=0+16k@0x33 snapshot=s1 write=4k+8k@0x55",
        "size=128k cluster_size=1k refcount_bits=8 write=0+5k@0x66 write=100k+1k@0x67",
        "size=512k cluster_size=2k refcount_bits=64 lazy_refcounts=on write=2k+6k@0x77 snapshot=a snapshot=b write=4k+2k@0x78",
        "size=64k cluster_size=512 compat=0.10 write=0+2k@0x99 snapshot=old write=1k+1k@0x9a",
        "size=1M cluster_size=64k write=0+64k@0xaa write=512k+4k@0xbb",
    ];

    /// <summary>The folder holding the QEMU-made seeds next to the test assembly.</summary>
    public static string QemuSeedDir => Path.Combine(AppContext.BaseDirectory, "Fuzz", "seeds");

    /// <summary>Builds (in dir) and loads every seed.</summary>
    public static List<FuzzSeed> Load(string dir)
    {
        var seeds = new List<FuzzSeed>();
        for (int i = 0; i < EngineDescriptions.Length; i++)
        {
            string path = Path.Combine(dir, $"engine-{i}.qcow2");
            Build.Run(path, EngineDescriptions[i]);
            seeds.Add(Seed($"engine:{EngineDescriptions[i]}", path));
        }
        foreach (string path in Directory.GetFiles(QemuSeedDir, "*.qcow2").Order(StringComparer.Ordinal))
        {
            seeds.Add(Seed("qemu:" + Path.GetFileName(path), path));
        }
        return seeds;
    }

    private static FuzzSeed Seed(string name, string path)
    {
        var bytes = File.ReadAllBytes(path);
        int clusterBits = bytes[23];
        return new FuzzSeed(name, bytes, FuzzFields.Of(path), 1L << clusterBits);
    }
}
