using System.Diagnostics;
using Qcow2.Cli;
using Qcow2.Format;
using Qcow2.Tools.Qimg;
using Qcow2.Tools.Qio;

namespace Qcow2.UnitTests.Fuzz;

/// <summary>Something wrong the fuzzer saw on one mutant.</summary>
/// <param name="Kind">crash, exception-text, hang, memory, wrote-refused-image, read-only-write, data, refusal</param>
/// <param name="Index">the mutant's index (replay with FUZZ_REPLAY)</param>
/// <param name="Seed">the seed image's name</param>
/// <param name="Mutation">the values changed</param>
/// <param name="Command">the command that showed it</param>
/// <param name="Detail">what was seen</param>
internal sealed record FuzzFinding(string Kind, long Index, string Seed, string Mutation, string Command, string Detail);

/// <summary>The outcome of one in-process tool run.</summary>
internal sealed record FuzzRun(int ExitCode, string Out, string Err, long Allocated, Exception? Escaped, string? Unexpected, TimeSpan Elapsed);

/// <summary>
/// Runs every fuzz command in-process on a mutant, on a worker thread with a time limit, and checks the rules: no
/// exception of an unexpected type (even one a tool's catch-all turned into a message), no .NET text in the output, no
/// hang, a bounded allocation, read-only commands leave the file alone, and an image our read-only open refuses is not
/// changed by any command that opens it normally (QEMU refuses the same images: see FuzzDifferential).
/// </summary>
internal sealed class FuzzRunner : IDisposable
{
    /// <summary>
    /// The most one command may allocate in all (churn, not peak: a check that reads thousands of hostile L2 tables
    /// allocates a table per read; qimg's peak there is 66 MB to qemu-img's 15 MB). Runaway sizes go far beyond it.
    /// </summary>
    public const long AllocationLimit = 4L << 30;

    /// <summary>Exception types the engine and tools use for the user-visible errors of bad images and failed requests.</summary>
    private static readonly Type[] Expected =
    [
        typeof(BlockIOException), typeof(ImageOpenException), typeof(CorruptImageException), typeof(BitmapOperationException),
        typeof(QimgException), typeof(QimgExitException),
    ];

    [ThreadStatic]
    private static string? _unexpected;

    [ThreadStatic]
    private static bool _watching;

    private readonly TimeSpan _limit;

    /// <summary>When the running command (or the engine tier) started, as a Stopwatch timestamp.</summary>
    private long _commandStarted;

    static FuzzRunner() => AppDomain.CurrentDomain.FirstChanceException += (_, e) =>
    {
        if (_watching && _unexpected is null && !IsExpected(e.Exception))
        {
            _unexpected = $"{e.Exception.GetType().FullName}: {e.Exception.Message}\n{new StackTrace(1, false)}";
        }
    };

    /// <summary>Creates a runner with its own folder (in /dev/shm when there is one) and a time limit per mutant.</summary>
    public FuzzRunner(TimeSpan limit)
    {
        _limit = limit;
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        Dir = Path.Combine(root, "qcow2-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    /// <summary>The folder mutants are written to (as t.img).</summary>
    public string Dir { get; }

    /// <summary>The tool command RunAll started last (null while it ran the engine tier): the one that hung, after a hang.</summary>
    public FuzzCommand? LastCommand { get; private set; }

    /// <summary>The image path.</summary>
    public string ImagePath => Path.Combine(Dir, "t.img");

    /// <summary>Runs every command on the mutant; returns the findings and whether our read-only open refused it.</summary>
    public (List<FuzzFinding> Findings, bool Refused) RunAll(byte[] image, Func<string, string, string, FuzzFinding> finding,
        bool tools, Action<FuzzCommand, FuzzRun>? trace = null)
    {
        var findings = new List<FuzzFinding>();
        bool refused = false;
        string current = "engine tier";
        LastCommand = null;
        Interlocked.Exchange(ref _commandStarted, Stopwatch.GetTimestamp());
        var work = Task.Run(() =>
        {
            EngineTier(image, findings, finding);
            if (!tools)
            {
                return;
            }
            File.WriteAllBytes(ImagePath, image);
            foreach (var c in FuzzCommands.ReadOnly)
            {
                current = c.ToString();
                LastCommand = c;
                var r = RunOne(c);
                trace?.Invoke(c, r);
                Check(c, r, findings, finding);
                refused |= c.Args[0] == "info" && c.Args.Length == 2 && r.ExitCode != 0;
                if (!Holds(ImagePath, image))
                {
                    findings.Add(finding("read-only-write", c.ToString(), "a read-only command changed the image"));
                    File.WriteAllBytes(ImagePath, image);
                }
            }
            foreach (var c in FuzzCommands.Writing)
            {
                current = c.ToString();
                LastCommand = c;
                File.WriteAllBytes(ImagePath, image);
                var r = RunOne(c);
                trace?.Invoke(c, r);
                // A repair that grows the file to hundreds of GiB (a refcount block far past the end) needs refcount
                // arrays for all of it, in QEMU too (qemu-img's peak is of the same order): only time bounds it then.
                bool grown = new FileInfo(ImagePath).Length > 1L << 30;
                Check(c, grown ? r with { Allocated = 0 } : r, findings, finding);
                if (refused && c.Args[0] != "check" && !Holds(ImagePath, image))
                {
                    findings.Add(finding("wrote-refused-image", c.ToString(), "changed an image our read-only open refuses"));
                }
            }
        });
        // The limit is per command (a mutant runs nineteen of them, each opening the image again).
        while (!work.Wait(TimeSpan.FromMilliseconds(200)))
        {
            if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _commandStarted)) > _limit)
            {
                findings.Add(finding("hang", current, $"still running after {_limit.TotalSeconds} s"));
                return (findings, refused);
            }
        }
        return (findings, refused);
    }

    private static void EngineTier(byte[] image, List<FuzzFinding> findings, Func<string, string, string, FuzzFinding> finding)
    {
        _unexpected = null;
        _watching = true;
        try
        {
            FuzzEngineTier.Run(image, findings, finding);
        }
        finally
        {
            _watching = false;
        }
        if (_unexpected is not null)
        {
            findings.Add(finding("crash", "engine tier", "unexpected exception (caught): " + _unexpected));
        }
    }

    /// <summary>Whether the file at path holds exactly image (a command may have grown it past what one array holds).</summary>
    public static bool Holds(string path, byte[] image) =>
        new FileInfo(path).Length == image.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(image);

    /// <summary>Runs one command in-process on the current thread, watching for unexpected exceptions and counting allocations.</summary>
    public FuzzRun RunOne(FuzzCommand c)
    {
        Func<string[], ToolContext, int> entry = c.Tool == "qio" ? QioTool.Run : QimgTool.Run;
        Interlocked.Exchange(ref _commandStarted, Stopwatch.GetTimestamp());
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        var ctx = new ToolContext(new StringReader(""), o, e, Dir);
        long before = GC.GetAllocatedBytesForCurrentThread();
        _unexpected = null;
        _watching = true;
        int rc = -1;
        Exception? escaped = null;
        var sw = Stopwatch.StartNew();
        try
        {
            rc = entry(c.Args, ctx);
            ctx.Out.Flush();
        }
        catch (Exception ex)
        {
            escaped = ex;
        }
        finally
        {
            _watching = false;
        }
        return new FuzzRun(rc, o.ToString(), e.ToString(), GC.GetAllocatedBytesForCurrentThread() - before, escaped, _unexpected, sw.Elapsed);
    }

    private static void Check(FuzzCommand c, FuzzRun r, List<FuzzFinding> findings, Func<string, string, string, FuzzFinding> finding)
    {
        string cmd = c.ToString();
        if (r.Escaped is not null)
        {
            findings.Add(finding("crash", cmd, $"{r.Escaped.GetType().FullName}: {r.Escaped.Message}\n{r.Escaped.StackTrace}"));
        }
        else if (r.Unexpected is not null)
        {
            findings.Add(finding("crash", cmd, "unexpected exception (caught by the tool): " + r.Unexpected));
        }
        if (DotnetText.Find(r.Out + r.Err) is string marker)
        {
            findings.Add(finding("exception-text", cmd, $"'{marker}' in the output:\n{r.Out}{r.Err}"));
        }
        if (r.Allocated > AllocationLimit)
        {
            findings.Add(finding("memory", cmd, $"allocated {r.Allocated >> 20} MiB"));
        }
    }

    private static bool IsExpected(Exception e)
    {
        var t = e.GetType();
        // The engine's and the tools' own types (including internal control flow such as an allocation retry) are
        // theirs to throw; zlib's InvalidDataException is how a corrupt compressed cluster is detected (EIO, as QEMU).
        if (t.Assembly == typeof(BlockIOException).Assembly || t.Assembly == typeof(QimgException).Assembly
            || t.Assembly == typeof(QioTool).Assembly || t == typeof(InvalidDataException))
        {
            return true;
        }
        foreach (var x in Expected)
        {
            if (x.IsAssignableFrom(t))
            {
                return true;
            }
        }
        // Host I/O errors (a file the tool creates cannot be written) surface as IOException and are reported as errnos.
        return t == typeof(IOException) || t == typeof(FileNotFoundException) || t == typeof(OperationCanceledException);
    }

    /// <summary>Removes the folder.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, true);
        }
        catch (IOException)
        {
        }
    }
}
