using System.Diagnostics;
using System.Globalization;
using Qcow2.Cli;
using Qcow2.Tools.Qimg;
using Qcow2.Tools.Qio;

namespace Qcow2.Corpus;

/// <summary>
/// Runs the writer cases against writer adapters and checks each result with QEMU. A writer adapter is one command
/// taking <c>create IMAGE SIZE</c> (make a qcow2 image of SIZE bytes) or <c>write IMAGE PATTERN OFFSET LENGTH</c>
/// (write LENGTH bytes of the byte PATTERN at OFFSET; exit non-zero to refuse); numbers are decimal.
/// </summary>
public static class WriterRunner
{
    /// <summary>Runs every case with every adapter, each in a fresh folder under work.</summary>
    public static List<CaseResult> RunAll(string work, IReadOnlyList<WriterCase> cases, IReadOnlyList<Adapter> adapters, Bounds bounds)
    {
        var results = new List<CaseResult>();
        foreach (var c in cases)
        {
            foreach (var a in adapters)
            {
                string dir = Path.Combine(work, a.Name, c.Name);
                Directory.CreateDirectory(dir);
                results.Add(RunOne(dir, c, a, bounds));
                Directory.Delete(dir, recursive: true);
            }
        }
        return results;
    }

    /// <summary>Runs one case with one adapter in dir and classifies the result.</summary>
    public static CaseResult RunOne(string dir, WriterCase c, Adapter a, Bounds bounds)
    {
        var sw = Stopwatch.StartNew();
        var (outcome, detail) = Classify(dir, c, a, bounds);
        return new CaseResult(c.Name, a.Name, outcome, detail, sw.Elapsed.TotalSeconds);
    }

    private static (Outcome, string) Classify(string dir, WriterCase c, Adapter a, Bounds bounds)
    {
        var builder = new CaseBuilder(dir, new CorpusCase(c.Name, _ => { }));
        string image = builder.ImagePath;
        (long Offset, long Length)? guarded = null;
        byte[] before = [];
        if (c.Prepare is null)
        {
            var r = Exec([.. a.Command, "create", image, Num(c.Size)], bounds);
            if (Failed(r) is { } f)
            {
                return f.Outcome == Outcome.RefusedValid ? (f.Outcome, "create refused: " + r.Err) : f;
            }
        }
        else
        {
            guarded = c.Prepare(builder);
            before = Bytes(image, guarded.Value.Offset, guarded.Value.Length);
        }
        var acknowledged = new List<GuestWrite>();
        foreach (var w in c.Writes)
        {
            var r = Exec([.. a.Command, "write", image, Num(w.Pattern), Num(w.Offset), Num(w.Length)], bounds);
            if (Failed(r) is { } f)
            {
                if (f.Outcome != Outcome.RefusedValid || guarded is null)
                {
                    return f.Outcome == Outcome.RefusedValid ? (f.Outcome, $"write {w.Offset}+{w.Length} refused: {r.Err}") : f;
                }
                continue;
            }
            acknowledged.Add(w);
        }
        if (guarded is { } g && Changed(before, Bytes(image, g.Offset, g.Length), g.Offset) is long at)
        {
            return (Outcome.OverwroteMetadata, $"metadata byte at 0x{at:x} changed");
        }
        if (guarded is null)
        {
            var check = Exec(["qemu-img", "check", "-f", "qcow2", image], bounds);
            if (check.Exit != 0)
            {
                return (Outcome.CheckFailed, $"qemu-img check exit {check.Exit}: {FirstLine(check.Out + check.Err)}");
            }
        }
        return acknowledged.Count == 0 ? (Outcome.Pass, "refused") : Content(dir, image, c, acknowledged, guarded is null, bounds);
    }

    /// <summary>What QEMU reads compared with the acknowledged writes (the whole disk for a plain case, the written ranges otherwise).</summary>
    private static (Outcome, string) Content(string dir, string image, WriterCase c, List<GuestWrite> writes, bool whole, Bounds bounds)
    {
        string raw = Path.Combine(dir, "content.raw");
        var r = Exec(["qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", image, raw], bounds);
        if (r.Exit != 0)
        {
            return (Outcome.CheckFailed, "QEMU cannot read the image: " + FirstLine(r.Err));
        }
        long size = new FileInfo(raw).Length;
        if (whole && size != c.Size)
        {
            return (Outcome.WrongData, $"disk size {size}, not {c.Size}");
        }
        if (whole)
        {
            return WholeDisk(raw, writes);
        }
        using var f = File.OpenRead(raw);
        var ranges = writes.Select(w => (w.Offset, w.Length)).ToList();
        var got = new byte[1 << 20];
        var want = new byte[got.Length];
        foreach (var (start, length) in ranges)
        {
            for (long pos = start; pos < start + length; pos += got.Length)
            {
                int n = (int)Math.Min(got.Length, start + length - pos);
                f.Position = pos;
                f.ReadExactly(got, 0, n);
                Expected(writes, pos, want.AsSpan(0, n));
                int diff = got.AsSpan(0, n).CommonPrefixLength(want.AsSpan(0, n));
                if (diff < n)
                {
                    return (Outcome.WrongData, $"guest byte 0x{pos + diff:x} is 0x{got[diff]:x2}, not 0x{want[diff]:x2}");
                }
            }
        }
        return (Outcome.Pass, "");
    }

    /// <summary>The whole disk QEMU read (its holes not read: they are zeros) compared with the writes.</summary>
    private static (Outcome, string) WholeDisk(string raw, List<GuestWrite> writes)
    {
        var want = new byte[1 << 20];
        long pos = 0;
        string? wrong = null;
        SparseFile.Read(raw, long.MaxValue, got =>
        {
            if (wrong is null)
            {
                Expected(writes, pos, want.AsSpan(0, got.Length));
                int diff = got.CommonPrefixLength(want.AsSpan(0, got.Length));
                if (diff < got.Length)
                {
                    wrong = $"guest byte 0x{pos + diff:x} is 0x{got[diff]:x2}, not 0x{want[diff]:x2}";
                }
            }
            pos += got.Length;
        });
        return wrong is null ? (Outcome.Pass, "") : (Outcome.WrongData, wrong);
    }

    /// <summary>The guest bytes at pos after the writes (zeros where none wrote).</summary>
    private static void Expected(List<GuestWrite> writes, long pos, Span<byte> into)
    {
        into.Clear();
        foreach (var w in writes)
        {
            long from = Math.Max(pos, w.Offset), to = Math.Min(pos + into.Length, w.Offset + w.Length);
            if (from < to)
            {
                into.Slice((int)(from - pos), (int)(to - from)).Fill(w.Pattern);
            }
        }
    }

    /// <summary>The first changed byte of the protected range, ignoring the incompatible feature bits of the header.</summary>
    private static long? Changed(byte[] before, byte[] after, long offset)
    {
        for (int i = 0; i < before.Length; i++)
        {
            long at = offset + i;
            bool features = at >= WriterCase.IncompatibleFeatures && at < WriterCase.IncompatibleFeatures + 8;
            if ((i >= after.Length || before[i] != after[i]) && !features)
            {
                return at;
            }
        }
        return null;
    }

    private static byte[] Bytes(string path, long offset, long length)
    {
        using var f = File.OpenRead(path);
        var buf = new byte[length];
        f.Position = offset;
        int n = f.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
        return buf[..n];
    }

    private sealed record Result(int Exit, string Out, string Err, bool TimedOut);

    /// <summary>The class of a failed command: a timeout, a crash (signal), a refusal (non-zero exit), or null when it succeeded.</summary>
    private static (Outcome Outcome, string Detail)? Failed(Result r) =>
        r.TimedOut ? (Outcome.Timeout, "timed out")
        : r.Exit > 128 ? (Outcome.Crash, $"exit {r.Exit}: {FirstLine(r.Err)}")
        : r.Exit != 0 ? (Outcome.RefusedValid, FirstLine(r.Err + r.Out))
        : null;

    private static Result Exec(string[] command, Bounds bounds)
    {
        if (command[0] == InProcessWriter)
        {
            return ExecInProcess(command[1..], bounds);
        }
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in command.Skip(1))
        {
            psi.ArgumentList.Add(arg);
        }
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        bool timedOut = !p.WaitForExit(bounds.Timeout);
        if (timedOut)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            p.WaitForExit();
        }
        return new Result(p.ExitCode, o.Result, e.Result, timedOut);
    }

    /// <summary>
    /// The writer adapter command that runs what tests/Corpus/adapters/qimg-writer does (qimg create, qio write) through
    /// the tools' entry points in this process: no process start per verb; the timeout holds, an exception is a crash.
    /// </summary>
    public const string InProcessWriter = "inproc:qimg-writer";

    private static Result ExecInProcess(string[] verb, Bounds bounds)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        var ctx = new ToolContext(TextReader.Null, TextWriter.Synchronized(o), TextWriter.Synchronized(e), Directory.GetCurrentDirectory());
        var run = Task.Run(() => verb switch
        {
            ["create", var image, var size] => QimgTool.Run(["create", "-q", "-f", "qcow2", image, size], ctx),
            ["write", var image, var pattern, var offset, var length] =>
                QioTool.Run(["-f", "qcow2", "-c", $"write -q -P {pattern} {offset} {length}", image], ctx),
            _ => 2,
        });
        if (!((IAsyncResult)run).AsyncWaitHandle.WaitOne(bounds.Timeout))
        {
            return new Result(0, "", "", TimedOut: true);
        }
        if (run.IsFaulted)
        {
            var x = run.Exception!.InnerException!;
            return new Result(134, "", $"unhandled {x.GetType().Name}: {x.Message}", false);
        }
        ctx.Out.Flush();
        return new Result(run.Result, o.ToString(), e.ToString(), false);
    }

    private static string FirstLine(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
}
