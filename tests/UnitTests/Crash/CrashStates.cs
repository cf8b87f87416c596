using Qcow2.Block;
using Qcow2.Storage;
using Qcow2.UnitTests.Check;

namespace Qcow2.UnitTests.Crash;

/// <summary>A file as a crash could leave it, with how it came about.</summary>
internal sealed record CrashState(string Name, byte[] File, bool PowerLoss);

/// <summary>What one crash state looks like to a checker: its ERROR lines, leaks and whether the guest data survived.</summary>
internal sealed record CrashVerdict(bool Corrupt, bool Leaks, string Detail);

/// <summary>
/// Enumerates every state a crash during a recorded operation can leave, and judges them with our check, qemu-img check
/// and a read of the guest data.
/// </summary>
internal static class CrashStates
{
    /// <summary>At most this many one-write-lost states per crash point.</summary>
    private const int MaxLostWritesPerPoint = 8;

    /// <summary>
    /// The kill -9 states (the first n requests of the operation reached the file, for every n) and the power-loss
    /// states (one write issued since the last flush barrier is lost while the others reached the disk).
    /// </summary>
    public static List<CrashState> Enumerate(RecordingStorage s, int from)
    {
        var states = new List<CrashState>();
        int total = s.Ops.Count - from;
        for (int n = from; n <= s.Ops.Count; n++)
        {
            int cut = n;
            states.Add(new CrashState($"kill after {n - from}/{total} requests", s.Replay(i => i < cut), false));
            int lastFlush = s.Ops.FindLastIndex(Math.Max(0, n - 1), Math.Max(0, n - from), o => o.Kind == StorageOpKind.Flush);
            var unflushed = Enumerable.Range(Math.Max(from, lastFlush + 1), Math.Max(0, n - 1 - Math.Max(from, lastFlush + 1)))
                .Where(k => s.Ops[k].Kind == StorageOpKind.Write).ToList();
            // Long runs without a barrier (data writes) are sampled evenly, so that the states stay linear in the requests.
            int step = Math.Max(1, unflushed.Count / MaxLostWritesPerPoint);
            for (int j = 0; j < unflushed.Count; j += step)
            {
                int k = unflushed[j];
                int lost = k;
                states.Add(new CrashState($"power loss after {n - from}/{total} requests, request {k - from} lost",
                    s.Replay(i => i < cut && i != lost), true));
            }
        }
        return states;
    }

    /// <summary>Our engine's qemu-img check on a state, without repairs.</summary>
    public static CrashVerdict OurCheck(byte[] file)
    {
        try
        {
            using var img = Qcow2Image.Open(new MemoryStorage(file), "crash.qcow2",
                new OpenOptions { Format = "qcow2", CheckMode = true, ReadOnly = true });
            var err = new StringWriter { NewLine = "\n" };
            var r = img.CheckConsistency(CheckRepair.None, err);
            bool corrupt = r.Corruptions > 0 || r.CheckErrors > 0 || r.Failure is not null;
            return new CrashVerdict(corrupt, r.Leaks > 0, err.ToString().Trim());
        }
        catch (BlockIOException e)
        {
            return new CrashVerdict(true, false, "open failed: " + e.Message);
        }
    }

    /// <summary>Real qemu-img check on a state: exit 2 (or 1) is corruption, exit 3 leaks only.</summary>
    public static CrashVerdict QemuCheck(byte[] file, string dir)
    {
        string path = Path.Combine(dir, "state.qcow2");
        File.WriteAllBytes(path, file);
        var (code, output, err) = ToolProcess.Run("qemu-img", dir, "check", "-U", "-f", "qcow2", path);
        return new CrashVerdict(code is 1 or 2 || code < 0, code == 3, (err + output).Trim());
    }

    /// <summary>Guest data of the state, read by our engine; null when the image does not open.</summary>
    public static byte[]? GuestData(byte[] file, long length)
    {
        var b = new byte[length];
        return GuestData(file, b) ? b : null;
    }

    /// <summary>
    /// Reads the state's guest data into a buffer as long as the disk (one buffer for every state of a test: a fresh
    /// 16 MiB array a state cost more in page faults than the read); false when the image does not open.
    /// </summary>
    public static bool GuestData(byte[] file, byte[] into)
    {
        try
        {
            using var img = Qcow2Image.Open(new MemoryStorage(file), "crash.qcow2",
                new OpenOptions { Format = "qcow2", ReadOnly = true });
            img.Read(0, into);
            return true;
        }
        catch (BlockIOException)
        {
            return false;
        }
    }
}
