using System.Diagnostics;
using Qcow2.Block;
using Qcow2.Storage;

namespace Qcow2.UnitTests.Crash;

/// <summary>
/// What the crash-safe commit costs against QEMU's direct order, for docs/reliability.md: requests, bytes written and
/// flush barriers (counted over an in-memory store), and wall time of snapshot create on a real file with fsync.
/// </summary>
[TestFixture]
[Category("crash")]
[Category("slow")]
public class CrashSafeCostTests
{
    [Explicit("a measurement")]
    [TestCase(64 << 20, 65536)]
    [TestCase(256 << 20, 4096)]
    public void Measure_snapshot_create(long written, int clusterSize)
    {
        var storage = new MemoryStorage();
        Qcow2Image.Format(storage, new Qcow2CreateOptions { Size = 4L << 30, ClusterSize = clusterSize, Version = 3, RefcountBits = 16 });
        using (var img = Qcow2Image.Open(storage, "c.qcow2", new OpenOptions { Format = "qcow2" }))
        {
            var chunk = new byte[1 << 20];
            Array.Fill(chunk, (byte)0x5a);
            for (long off = 0; off < written; off += chunk.Length)
            {
                img.Write(off * 3 % (4L << 30), chunk);
            }
        }
        var image = storage.ToArray();
        foreach (bool safe in new[] { false, true })
        {
            var rec = new RecordingStorage(image);
            int from;
            using (var img = Qcow2Image.Open(rec, "c.qcow2", new OpenOptions { Format = "qcow2" }))
            {
                img.CrashSafeSnapshots = safe;
                from = rec.Ops.Count;
                img.CreateSnapshot("s");
            }
            var ops = rec.Ops.Skip(from).ToList();
            string path = Path.Combine(Path.GetTempPath(), $"cost-{Guid.NewGuid():N}.qcow2");
            File.WriteAllBytes(path, image);
            var sw = Stopwatch.StartNew();
            using (var img = Qcow2Image.Open(new FileStorage(path, false), path, new OpenOptions { Format = "qcow2" }))
            {
                img.CrashSafeSnapshots = safe;
                img.CreateSnapshot("s");
            }
            sw.Stop();
            File.Delete(path);
            TestContext.Out.WriteLine($"| {written >> 20} MiB written, {clusterSize / 1024} KiB clusters | {(safe ? "crash-safe" : "direct (QEMU's order)")} | "
                + $"{ops.Count(o => o.Kind == StorageOpKind.Write)} writes, {ops.Sum(o => (long)o.Data.Length) / 1024} KiB, "
                + $"{ops.Count(o => o.Kind == StorageOpKind.Flush)} flushes | {sw.Elapsed.TotalMilliseconds:F0} ms |");
        }
    }
}
