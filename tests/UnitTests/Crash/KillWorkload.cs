using System.Collections.Concurrent;
using System.Diagnostics;

namespace Qcow2.UnitTests.Crash;

/// <summary>The tools one kill run drives: ours (qio, qimg) or QEMU's (qemu-io, qemu-img).</summary>
internal sealed record KillTools(string Name, string Io, string Img)
{
    public static KillTools Ours => new("ours", Path.Combine(AppContext.BaseDirectory, "qio"), Path.Combine(AppContext.BaseDirectory, "qimg"));

    public static KillTools Qemu => new("qemu", "qemu-io", "qemu-img");
}

/// <summary>A tool process whose stdout lines are collected as they arrive, so that a kill leaves what it had printed.</summary>
internal sealed class KillableProcess : IDisposable
{
    private readonly Process _p;
    private readonly ConcurrentQueue<string> _lines = new();

    public KillableProcess(string tool, string dir, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        _p = new Process { StartInfo = psi };
        _p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
        _p.ErrorDataReceived += (_, _) => { };
        SpawnGate.Start(_p.Start);
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    /// <summary>Lines printed so far.</summary>
    public IReadOnlyList<string> Lines => _lines.ToArray();

    /// <summary>Waits for the exit; false on timeout.</summary>
    public bool WaitForExit(int ms)
    {
        if (!_p.WaitForExit(ms))
        {
            return false;
        }
        _p.WaitForExit();
        return true;
    }

    public int ExitCode => _p.ExitCode;

    /// <summary>SIGKILL (Process.Kill sends SIGKILL on Linux), then waits for the process and its output to end.</summary>
    public void KillAfter(TimeSpan delay)
    {
        if (!_p.WaitForExit(delay))
        {
            _p.Kill();
        }
        _p.WaitForExit();
    }

    public void Dispose() => _p.Dispose();
}

/// <summary>
/// One seeded workload for the kill test: a virtual disk of 512-byte clusters written in 64 KiB requests, each followed by
/// a flush and a marker (a length command) that tells the test the write is durable; snapshots created in between.
/// </summary>
internal sealed class KillWorkload(int seed)
{
    public const long DiskSize = 64 << 20;
    public const int WriteSize = 64 << 10;
    private const string Marker = "64 MiB";

    private readonly Random _r = new(seed);

    /// <summary>What the guest must read, per write-sized block: the flushed pattern (0 = never written).</summary>
    public byte[] Flushed { get; } = new byte[DiskSize / WriteSize];

    /// <summary>Patterns written but not known to be flushed when the writer died, per block.</summary>
    public Dictionary<long, List<byte>> InFlight { get; } = new();

    /// <summary>The writer's arguments and the block/pattern of each write, in order.</summary>
    public (List<string> Args, List<(long Block, byte Pattern)> Writes) Writer(int count)
    {
        var args = new List<string>();
        var writes = new List<(long, byte)>();
        for (int i = 0; i < count; i++)
        {
            long block = _r.NextInt64(Flushed.Length);
            byte pattern = (byte)_r.Next(1, 256);
            writes.Add((block, pattern));
            args.AddRange(["-c", $"write -P {pattern} {block * WriteSize} {WriteSize}", "-c", "flush", "-c", "length"]);
        }
        return (args, writes);
    }

    /// <summary>Records what a writer made durable: every write up to the last marker it printed; the rest is in flight.</summary>
    public void Account(List<(long Block, byte Pattern)> writes, IReadOnlyList<string> lines, bool completed)
    {
        int durable = completed ? writes.Count : lines.Count(l => l.Trim() == Marker);
        for (int i = 0; i < writes.Count; i++)
        {
            var (block, pattern) = writes[i];
            if (i < durable)
            {
                Flushed[block] = pattern;
                InFlight.Remove(block);
            }
            else
            {
                if (!InFlight.TryGetValue(block, out var list))
                {
                    InFlight[block] = list = [];
                }
                list.Add(pattern);
            }
        }
    }

    /// <summary>
    /// The first cluster of a raw copy of the guest disk that holds neither its flushed pattern nor one in flight, or null.
    /// Only the file's data runs are read: a hole reads as zeros, which no write pattern is (the copy is 64 MiB, the
    /// data a few MiB).
    /// </summary>
    public string? Verify(string rawPath)
    {
        // A write in flight may have reached some clusters and not others, so each cluster is judged alone.
        const int cluster = 512;
        var copy = SparseBytes.Read(rawPath);
        if (copy.Length != DiskSize)
        {
            return $"raw copy is {copy.Length} bytes, not {DiskSize}";
        }
        Span<byte> span = stackalloc byte[cluster];
        for (long at = 0; at < DiskSize; at += cluster)
        {
            copy.ReadAt(at, span);
            long b = at / WriteSize;
            byte first = span[0];
            bool uniform = !span.ContainsAnyExcept(first);
            bool ok = uniform && (first == Flushed[b] || (InFlight.TryGetValue(b, out var l) && l.Contains(first)));
            if (!ok)
            {
                return $"cluster at {at:#x}: expected pattern {Flushed[b]}, found {first}{(uniform ? "" : " (mixed)")}";
            }
        }
        return null;
    }

    /// <summary>Starts from what another workload made durable (the shared base image).</summary>
    public void StartFrom(KillWorkload b) => b.Flushed.CopyTo(Flushed, 0);

    /// <summary>A kill delay up to window.</summary>
    public TimeSpan Delay(TimeSpan window) => TimeSpan.FromMilliseconds(_r.NextDouble() * window.TotalMilliseconds);

    /// <summary>Whether the kill should hit a writer instead of a snapshot creation (one in four).</summary>
    public bool KillWriter() => _r.Next(4) == 0;
}
