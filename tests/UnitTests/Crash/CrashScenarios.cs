using Qcow2.Block;
using Qcow2.Storage;

namespace Qcow2.UnitTests.Crash;

/// <summary>
/// One metadata operation whose crash points are enumerated: how to build the image before it (in memory, by our
/// engine) and the operation itself. Guest data after any crash must equal, cluster by cluster, the data before or
/// after the operation.
/// </summary>
internal sealed record CrashScenario(string Name, int ClusterSize, Action<Qcow2Image> Setup, Action<Qcow2Image> Operation, int RefcountBits = 16)
{
    /// <summary>The size of every scenario's virtual disk.</summary>
    public const long DiskSize = 16 << 20;

    public override string ToString() => Name;

    /// <summary>The operations whose crash states are enumerated.</summary>
    public static IEnumerable<CrashScenario> All()
    {
        yield return new("snapshot create", 4096, Fill, img => img.CreateSnapshot("s1"));
        yield return new("second snapshot create", 4096, img =>
        {
            Fill(img);
            img.CreateSnapshot("s1");
            Pattern(img, 0x20, 4096 * 3, 8192);
        }, img => img.CreateSnapshot("s2"));
        yield return new("snapshot delete", 4096, img =>
        {
            Fill(img);
            img.CreateSnapshot("s1");
            Pattern(img, 0x21, 0, 4096);
        }, img => img.DeleteSnapshot("s1"));
        yield return new("snapshot apply", 4096, img =>
        {
            Fill(img);
            img.CreateSnapshot("s1");
            Pattern(img, 0x22, 4096, 3 * 4096);
            Pattern(img, 0x23, 10 << 20, 4096);
        }, img => img.ApplySnapshot("s1"));
        yield return new("copy-on-write of a snapshot cluster", 4096, img =>
        {
            Fill(img);
            img.CreateSnapshot("s1");
        }, img => Pattern(img, 0x24, 4096, 4096));
        yield return new("L2 table allocation", 4096, Fill, img => Pattern(img, 0x25, 13 << 20, 8192));
        yield return new("refcount block allocation", 512, img => Pattern(img, 0x26, 0, 120 * 512),
            img => Pattern(img, 0x27, 1 << 20, 300 * 512));
        // 64-bit refcounts and 512-byte clusters: a refcount block covers 32 KiB and the one-cluster table 2 MiB.
        yield return new("refcount table growth", 512, img => Pattern(img, 0x28, 0, 4096),
            img => Pattern(img, 0x29, 2 << 20, 64 << 10), RefcountBits: 64);
    }

    /// <summary>Data in three L2 tables' ranges, one cluster zeroed with allocation kept.</summary>
    private static void Fill(Qcow2Image img)
    {
        Pattern(img, 0x11, 0, 5 * 4096);
        Pattern(img, 0x12, (2 << 20) + 4096, 4096);
        Pattern(img, 0x13, 9 << 20, 2 * 4096);
        img.WriteZeroes(4096, 4096, false);
    }

    private static void Pattern(Qcow2Image img, byte value, long offset, int length)
    {
        var b = new byte[length];
        Array.Fill(b, value);
        img.Write(offset, b);
    }

    /// <summary>The image before the operation, flushed and closed.</summary>
    public byte[] Before()
    {
        var storage = new MemoryStorage();
        Qcow2Image.Format(storage, new Qcow2CreateOptions { Size = DiskSize, ClusterSize = ClusterSize, Version = 3, RefcountBits = RefcountBits });
        var recorder = new RecordingStorage(storage.ToArray());
        using (var img = Open(recorder))
        {
            Setup(img);
        }
        return recorder.ToArray();
    }

    /// <summary>Opens a store read-write as qcow2.</summary>
    public static Qcow2Image Open(IStorage storage, TimeProvider? clock = null) =>
        Qcow2Image.Open(storage, "crash.qcow2", new OpenOptions { Format = "qcow2", Clock = clock ?? TimeProvider.System });
}
