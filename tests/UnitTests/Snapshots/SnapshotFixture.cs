using System.Buffers.Binary;
using NUnit.Framework;
using Qcow2.Block;
using Qcow2.Cli;
using Qcow2.Tools.Qimg;
using Qcow2.UnitTests.Qimg;

namespace Qcow2.UnitTests.Snapshots;

/// <summary>Runs qimg snapshot in-process next to real qemu-img, with the snapshot clock pinned to qemu-img's dates.</summary>
public abstract class SnapshotFixture : QimgFixture
{
    private TimeProvider _clock = TimeProvider.System;

    /// <summary>Each test starts with the system clock.</summary>
    [SetUp]
    public void ResetClock() => _clock = TimeProvider.System;

    /// <summary>Runs `qimg snapshot ARGS` through SnapshotCommand.Run, mapping usage errors as qimg's dispatcher does.</summary>
    protected RunResult QimgSnapshot(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        int code;
        try
        {
            code = SnapshotCommand.Run(["snapshot", .. args], new ToolContext(TextReader.Null, output, error, Dir) { Clock = _clock });
        }
        catch (QimgUsageException e)
        {
            error.Write($"qimg: {e.Message}\nTry '{QimgTool.Name} --help' for more information\n");
            code = e.ExitCode;
        }
        catch (QimgException e)
        {
            error.Write($"qimg: {e.Message}\n{e.Hint}");
            code = e.ExitCode;
        }
        return new RunResult(code, output.ToString(), error.ToString());
    }

    /// <summary>qemu-img snapshot's result with "qemu-img:" turned into "qimg:".</summary>
    protected RunResult QemuSnapshot(params string[] args)
    {
        var r = QemuImg(["snapshot", .. args]);
        return r with { Err = System.Text.RegularExpressions.Regex.Replace(r.Err, "(?m)^qemu-img:", "qimg:") };
    }

    /// <summary>Makes our next snapshot carry the date of the newest snapshot in image (the one qemu-img just made).</summary>
    protected void PinClockTo(string image)
    {
        using var img = (Qcow2Image)ImageOpener.Open(PathOf(image), new OpenOptions { ReadOnly = true, BaseDirectory = Dir });
        var newest = img.Snapshots.MaxBy(s => ulong.TryParse(s.Id, out ulong v) ? v : 0);
        long ticks = newest is null ? 0 : newest.DateSec * TimeSpan.TicksPerSecond + newest.DateNsec / 100;
        _clock = new Qcow2.Corpus.FixedClock(DateTimeOffset.UnixEpoch.AddTicks(ticks));
    }

    /// <summary>Creates an image with qemu-img and copies it, so both tools start from identical bytes.</summary>
    protected void CreatePair(string a, string b, string options, string size = "64M")
    {
        var r = QemuImg("create", "-f", "qcow2", "-o", options, a, size);
        Assume.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        File.Copy(PathOf(a), PathOf(b), overwrite: true);
    }

    /// <summary>Runs a qemu-io command on an image and fails on error.</summary>
    protected void QemuIo(string image, string command)
    {
        var r = Qemu("qemu-io", "-c", command, image);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
    }

    /// <summary>Asserts that two files are equal byte for byte, naming the differing clusters when they are not.</summary>
    protected void AssertSameFiles(string a, string b, string context)
    {
        if (!File.ReadAllBytes(PathOf(a)).AsSpan().SequenceEqual(File.ReadAllBytes(PathOf(b))))
        {
            Assert.Fail($"{a} and {b} differ: {string.Join(", ", AllocatedDifferences(a, b).Take(10))}; {context}");
        }
    }

    /// <summary>
    /// Differences between two images in what QEMU's metadata makes meaningful: file length, every refcount and the bytes of
    /// every cluster whose refcount is not zero (freed clusters may keep stale bytes where the host did not punch holes).
    /// </summary>
    protected List<string> AllocatedDifferences(string a, string b)
    {
        byte[] x = File.ReadAllBytes(PathOf(a)), y = File.ReadAllBytes(PathOf(b));
        var diffs = new List<string>();
        if (x.Length != y.Length)
        {
            diffs.Add($"length {x.Length} vs {y.Length}");
        }
        var (cs, rx) = Refcounts(x);
        var (_, ry) = Refcounts(y);
        foreach (long k in rx.Keys.Union(ry.Keys).Order())
        {
            rx.TryGetValue(k, out ulong vx);
            ry.TryGetValue(k, out ulong vy);
            if (vx != vy)
            {
                diffs.Add($"cluster {k}: refcount {vx} vs {vy}");
            }
            else if (!Slice(x, k * cs, cs).SequenceEqual(Slice(y, k * cs, cs)))
            {
                diffs.Add($"cluster {k} (0x{k * cs:x}): bytes differ");
            }
        }
        return diffs;
    }

    private static ReadOnlySpan<byte> Slice(byte[] b, long offset, int length) =>
        offset >= b.Length ? [] : b.AsSpan((int)offset, (int)Math.Min(length, b.Length - offset));

    /// <summary>Every non-zero refcount of an image, read straight from its refcount table and blocks.</summary>
    private static (int ClusterSize, Dictionary<long, ulong> Refcounts) Refcounts(byte[] f)
    {
        int cb = (int)BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(20));
        int cs = 1 << cb;
        long rto = (long)BinaryPrimitives.ReadUInt64BigEndian(f.AsSpan(48));
        long rtc = BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(56));
        int version = (int)BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(4));
        int order = version >= 3 ? (int)BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(96)) : 4;
        int bits = 1 << order;
        long perBlock = (long)cs * 8 / bits;
        var rc = new Dictionary<long, ulong>();
        for (long i = 0; i < rtc * cs / 8; i++)
        {
            long rb = (long)(BinaryPrimitives.ReadUInt64BigEndian(f.AsSpan((int)(rto + i * 8))) & ~0x1ffUL);
            if (rb == 0 || rb + cs > f.Length)
            {
                continue;
            }
            for (long j = 0; j < perBlock; j++)
            {
                long bit = j * bits;
                ulong v = 0;
                for (int k = 0; k < bits; k++)
                {
                    long p = bit + k;
                    int byteVal = f[rb + p / 8];
                    v = (v << 1) | (uint)((byteVal >> (7 - (int)(p % 8))) & 1);
                }
                if (v != 0)
                {
                    rc[i * perBlock + j] = v;
                }
            }
        }
        return (cs, rc);
    }
}
