using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>Shared plumbing for the measure and dd interop tests: source images made by QEMU and qimg-versus-qemu-img runs.</summary>
public abstract class MeasureDdFixture : QimgFixture
{
    /// <summary>Seed of the random bytes in the generated raw files (printed on failure).</summary>
    protected const int Seed = 7202;

    /// <inheritdoc/>
    protected override string Describe(string[] args) => $"qimg {string.Join(' ', args)} (seed {Seed})";

    /// <summary>Source images of every kind both commands read.</summary>
    protected static readonly string[] Sources =
        ["base.qcow2", "top.qcow2", "sparse.raw", "small.qcow2", "bm.qcow2", "prealloc.qcow2", "comp.qcow2", "odd.raw", "empty.qcow2"];

    /// <summary>Writes count seeded random bytes to a file in the test folder.</summary>
    protected void WriteRandom(string name, int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(PathOf(name), bytes);
    }

    /// <summary>
    /// Images with data, zero clusters, a backing chain, holes, snapshots, bitmaps, preallocation and compression;
    /// QEMU makes them once per run (BuiltOnce) and every test gets copies.
    /// </summary>
    protected void MakeSources() => BuiltOnce.Folder("measure-dd-sources-" + Seed, Dir, _ => MakeSourcesWithQemu());

    private void MakeSourcesWithQemu()
    {
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "64M");
        Sh("qemu-io", "-c", "write -P 1 0 1M", "-c", "write -P 2 3M 100k", "-c", "write -z 8M 1M", "-c", "write -P 3 20M 4k", "base.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2");
        Sh("qemu-io", "-c", "write -P 5 30M 70k", "-c", "write -z 0 64k", "top.qcow2");
        Sh("qemu-img", "snapshot", "-c", "s1", "base.qcow2");
        Sh("qemu-io", "-c", "write -P 9 40M 1M", "base.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "raw", "sparse.raw", "50M");
        Sh("qemu-io", "-f", "raw", "-c", "write -P 4 400k 12k", "-c", "write -P 6 40000k 1k", "sparse.raw");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k,compat=0.10", "small.qcow2", "10M");
        Sh("qemu-io", "-c", "write -P 7 5k 9k", "small.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "bm.qcow2", "100M");
        Sh("qemu-img", "bitmap", "--add", "bm.qcow2", "b1");
        Sh("qemu-img", "bitmap", "--add", "-g", "512", "bm.qcow2", "longer_bitmap_name");
        Sh("qemu-io", "-c", "write -P 8 0 1M", "bm.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata", "prealloc.qcow2", "20M");
        Sh("qemu-io", "-c", "write -P 1 1M 64k", "prealloc.qcow2");
        Sh("qemu-img", "convert", "-c", "-O", "qcow2", "base.qcow2", "comp.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "empty.qcow2", "3M");
        WriteRandom("odd.raw", 1000, Seed);
    }
}
