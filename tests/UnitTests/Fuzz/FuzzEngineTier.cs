using Qcow2.Block;
using Qcow2.Storage;

namespace Qcow2.UnitTests.Fuzz;

/// <summary>
/// The fast tier every mutant goes through, in memory and without the tools' argument handling: open read-only, read
/// and query the first MiB of guest data, run the check; then open read-write, write a pattern, flush, close, reopen
/// and read it back. Only the engine's own exception types may come out (anything else is a crash), and a write that
/// was acknowledged must read back after reopening (a lost write is a finding).
/// </summary>
internal static class FuzzEngineTier
{
    /// <summary>How much guest data is read and queried.</summary>
    private const int ReadLength = 1 << 20;

    /// <summary>Where the pattern is written (a cluster-aligned guest offset present in every seed).</summary>
    private const long WriteOffset = 4096;

    /// <summary>The pattern byte (qemu-io -P 0xa5 writes the same, for the confirmation with QEMU).</summary>
    public const byte PatternByte = 0xa5;

    private static readonly byte[] Pattern = Enumerable.Repeat(PatternByte, 4096).ToArray();

    /// <summary>The qemu-io commands that do what this tier's write does, and check it after reopening.</summary>
    public static readonly string[] QemuWrite = ["-f", "qcow2", "-c", $"write -P 0x{PatternByte:x2} {WriteOffset} 4k", "t.img"];

    /// <summary>The read-back of <see cref="QemuWrite"/>.</summary>
    public static readonly string[] QemuReadBack = ["-f", "qcow2", "-r", "-c", $"read -P 0x{PatternByte:x2} {WriteOffset} 4k", "t.img"];

    [ThreadStatic]
    private static byte[]? _buffer;

    /// <summary>Runs the tier; returns findings as (command, kind, detail) through finding.</summary>
    public static void Run(byte[] image, List<FuzzFinding> findings, Func<string, string, string, FuzzFinding> finding)
    {
        Guard("engine open read-only, read, map, check", findings, finding, () => ReadOnlyPass(image));
        var storage = new BoundedStorage(new MemoryStorage(image));
        bool acknowledged = false;
        Guard("engine write, flush, close", findings, finding, () =>
        {
            using var img = Qcow2Image.Open(storage, "t.img", Options(readOnly: false));
            if (img.Size >= WriteOffset + Pattern.Length)
            {
                img.Write(WriteOffset, Pattern);
                img.Flush();
                acknowledged = true;
            }
        });
        if (!acknowledged)
        {
            return;
        }
        Guard("engine reopen after write", findings, finding, () =>
        {
            using var img = Qcow2Image.Open(new MemoryStorage(storage.Inner.ToArray(), readOnly: true), "t.img", Options(readOnly: true));
            var back = new byte[Pattern.Length];
            img.Read(WriteOffset, back);
            if (!back.AsSpan().SequenceEqual(Pattern))
            {
                findings.Add(finding("lost-write", "engine reopen after write", "an acknowledged and flushed 4 KiB write does not read back"));
            }
        }, reopen: true);
    }

    private static void ReadOnlyPass(byte[] image)
    {
        using var img = Qcow2Image.Open(new MemoryStorage(image, readOnly: true), "t.img", Options(readOnly: true));
        var buf = _buffer ??= new byte[ReadLength];
        int n = (int)Math.Min(img.Size, ReadLength);
        try
        {
            img.Read(0, buf.AsSpan(0, n));
        }
        catch (BlockIOException)
        {
            // A read error is QEMU's answer to some of these images too; the status walk and the check still run.
        }
        for (long at = 0; at < n;)
        {
            var st = img.GetStatus(at, n - at);
            if (st.Length <= 0)
            {
                throw new InvalidOperationException($"block status at {at} made no progress");
            }
            at += st.Length;
        }
        img.CheckConsistency(CheckRepair.None, TextWriter.Null);
    }

    private static OpenOptions Options(bool readOnly) => new() { Format = "qcow2", ReadOnly = readOnly, NoBacking = true };

    private static void Guard(string what, List<FuzzFinding> findings, Func<string, string, string, FuzzFinding> finding, Action body,
        bool reopen = false)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            body();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > FuzzRunner.AllocationLimit)
            {
                findings.Add(finding("memory", what, $"allocated {allocated >> 20} MiB"));
            }
        }
        catch (Exception e) when (e is BlockIOException or ImageOpenException or CorruptImageException or Qcow2.Format.BitmapOperationException)
        {
            if (reopen)
            {
                findings.Add(finding("lost-write", what, $"the image no longer opens or reads after an acknowledged write: {e.Message}"));
            }
        }
        catch (Exception e)
        {
            findings.Add(finding("crash", what, $"{e.GetType().FullName}: {e.Message}\n{e.StackTrace}"));
        }
    }
}

/// <summary>
/// An in-memory store that refuses to grow past 64 MiB (EFBIG): a hostile offset can send a write far past the end,
/// where a host file would be sparse and this store would not (the tool tier runs the same writes on real files).
/// </summary>
internal sealed class BoundedStorage(MemoryStorage inner) : IStorage
{
    private const long Limit = 64L << 20;

    /// <summary>The store written to.</summary>
    public MemoryStorage Inner => inner;

    public long Length => inner.Length;

    public bool ReadOnly => inner.ReadOnly;

    public void Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        StorageRequest.Check(offset, data.Length);
        if (offset + data.Length > Limit)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        inner.Write(offset, data);
    }

    public void SetLength(long length)
    {
        if (length > Limit)
        {
            throw new BlockIOException(Errno.EFBIG);
        }
        inner.SetLength(length);
    }

    public void Flush() => inner.Flush();

    public void Discard(long offset, long length) => inner.Discard(offset, length);

    public void Dispose() => inner.Dispose();
}
