using System.Security.Cryptography;
using Qcow2.UnitTests.Check;

namespace Qcow2.UnitTests.Crash;

/// <summary>
/// Deterministic crash simulation: each metadata operation runs once over a store that records its requests, then every
/// state a crash could leave (kill -9 after each request; power loss of one write since the last flush) is rebuilt and
/// judged by our check, by real qemu-img check and by reading the guest data back. No state may be corrupt (leaks are
/// allowed) and no cluster may hold anything but its data from before or after the operation.
/// </summary>
[TestFixture]
[Category("crash")]
public class CrashPointTests
{
    private static IEnumerable<string> Scenarios() => CrashScenario.All().Select(s => s.Name);

    [TestCaseSource(nameof(Scenarios))]
    public void No_crash_point_leaves_corruption_or_loses_data(string operation)
    {
        var scenario = CrashScenario.All().Single(s => s.Name == operation);
        var before = scenario.Before();
        var recorder = new RecordingStorage(before);
        int from;
        using (var img = CrashScenario.Open(recorder))
        {
            from = recorder.Ops.Count;
            scenario.Operation(img);
        }
        var after = recorder.ToArray();
        var dataBefore = CrashStates.GuestData(before, CrashScenario.DiskSize)!;
        var dataAfter = CrashStates.GuestData(after, CrashScenario.DiskSize)!;
        Assert.That(CrashStates.OurCheck(after).Corrupt, Is.False, "the completed operation leaves a corrupt image");

        var tmp = new TempDir("crash");
        string dir = tmp.Path;
        bool qemu = ToolProcess.Available("qemu-img");
        var seen = new HashSet<string>();
        var failures = new List<string>();
        var kill = new Tally();
        var power = new Tally();
        // Each state's guest data, read into one buffer for all of them.
        var data = new byte[CrashScenario.DiskSize];
        try
        {
            foreach (var state in CrashStates.Enumerate(recorder, from))
            {
                if (!seen.Add(Convert.ToHexString(SHA256.HashData(state.File))))
                {
                    continue;
                }
                var t = state.PowerLoss ? power : kill;
                t.States++;
                var ours = CrashStates.OurCheck(state.File);
                t.OurLeaks += ours.Leaks && !ours.Corrupt ? 1 : 0;
                t.OurCorrupt += ours.Corrupt ? 1 : 0;
                if (ours.Corrupt)
                {
                    failures.Add($"{state.Name}: our check: {ours.Detail}");
                }
                if (qemu)
                {
                    var q = CrashStates.QemuCheck(state.File, dir);
                    t.QemuLeaks += q.Leaks && !q.Corrupt ? 1 : 0;
                    t.QemuCorrupt += q.Corrupt ? 1 : 0;
                    if (q.Corrupt)
                    {
                        failures.Add($"{state.Name}: qemu-img check: {q.Detail}");
                    }
                }
                // A write lost to a power failure was never flushed, so only the kill states must keep every cluster whole.
                if (!state.PowerLoss
                    && LostCluster(CrashStates.GuestData(state.File, data) ? data : null, dataBefore, dataAfter, scenario.ClusterSize) is string loss)
                {
                    t.Lost++;
                    failures.Add($"{state.Name}: {loss}");
                }
            }
        }
        finally
        {
            tmp.Dispose();
        }
        TestContext.Out.WriteLine($"| {scenario.Name} | {recorder.Ops.Count - from} | {kill.Row(qemu)} | {power.Row(qemu)} |");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
        if (!qemu)
        {
            QemuRequired.Missing("qemu-img");
        }
    }

    [TestCaseSource(nameof(Scenarios))]
    public void Crash_safe_commit_leaves_the_file_qemus_order_leaves(string operation)
    {
        var scenario = CrashScenario.All().Single(s => s.Name == operation);
        var before = scenario.Before();
        var files = new List<byte[]>();
        // Both runs date their snapshot alike, so that only the order of the requests could tell them apart.
        var clock = new Qcow2.Corpus.FixedClock(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero));
        foreach (bool safe in new[] { false, true })
        {
            var recorder = new RecordingStorage(before);
            using (var img = CrashScenario.Open(recorder, clock))
            {
                img.CrashSafeSnapshots = safe;
                scenario.Operation(img);
            }
            files.Add(recorder.ToArray());
        }
        Assert.That(files[1], Is.EqualTo(files[0]), "the crash-safe commit must end with the same bytes as the direct one");
    }

    /// <summary>Outcomes of one crash model.</summary>
    private sealed class Tally
    {
        public int States, OurLeaks, OurCorrupt, QemuLeaks, QemuCorrupt, Lost;

        public string Row(bool qemu) => $"{States} states: {OurCorrupt} corrupt, {OurLeaks} leaks"
            + (qemu ? $" (qemu-img check: {QemuCorrupt} corrupt, {QemuLeaks} leaks)" : "") + (Lost > 0 ? $", {Lost} lost data" : "");
    }

    /// <summary>The first guest cluster holding neither its data from before nor from after, or null.</summary>
    private static string? LostCluster(byte[]? data, byte[] before, byte[] after, int clusterSize)
    {
        if (data is null)
        {
            return "the image does not open";
        }
        for (int off = 0; off < data.Length; off += clusterSize)
        {
            var c = data.AsSpan(off, clusterSize);
            if (!c.SequenceEqual(before.AsSpan(off, clusterSize)) && !c.SequenceEqual(after.AsSpan(off, clusterSize)))
            {
                return $"guest cluster at {off:#x} holds neither the old nor the new data";
            }
        }
        return null;
    }
}
