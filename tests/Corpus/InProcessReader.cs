using Qcow2.Cli;
using Qcow2.Tools.Qimg;

namespace Qcow2.Corpus;

/// <summary>What one run of a reader gave: whether it timed out, its exit status, whether its output ended within the limit, its stderr.</summary>
/// <param name="TimedOut">cut off after the timeout</param>
/// <param name="Exit">exit status (0 when the output was cut off)</param>
/// <param name="Complete">the whole output was read (it did not pass the limit)</param>
/// <param name="Stderr">what the reader wrote to stderr</param>
public sealed record ReaderRun(bool TimedOut, int Exit, bool Complete, string Stderr);

/// <summary>
/// The in-process adapter <c>inproc:qimg</c>: what tests/Corpus/adapters/qimg does (qimg convert into a temporary raw
/// file, read back as the guest disk), through qimg's entry point in this process instead of a qimg process. It keeps
/// the timeout but not the address-space bound of a process (prlimit), and an unhandled exception counts as a crash.
/// </summary>
public static class InProcessReader
{
    /// <summary>The adapter command that names this reader.</summary>
    public const string Command = "inproc:qimg";

    /// <summary>Whether the adapter is this reader.</summary>
    public static bool Handles(Adapter adapter) => adapter.Command is [Command];

    /// <summary>Converts the image with qimg in-process and reads the raw result into scan (at most limit bytes).</summary>
    public static ReaderRun Run(string image, string? secret, ContentScan scan, long limit, TimeSpan timeout)
    {
        string raw = Path.Combine(Path.GetTempPath(), $"corpus-inproc-{Guid.NewGuid():N}.raw");
        // The same source arguments as the qimg adapter (commas in the path are doubled for --image-opts).
        string[] source = secret is null
            ? ["-f", "qcow2", image]
            : ["--object", $"secret,id=sec0,data={secret}", "--image-opts",
               $"driver=qcow2,file.filename={image.Replace(",", ",,", StringComparison.Ordinal)},encrypt.key-secret=sec0"];
        var err = new StringWriter { NewLine = "\n" };
        var ctx = new ToolContext(TextReader.Null, TextWriter.Null, TextWriter.Synchronized(err), Directory.GetCurrentDirectory());
        var convert = Task.Run(() => QimgTool.Run(["convert", .. source, "-O", "raw", raw], ctx));
        if (!((IAsyncResult)convert).AsyncWaitHandle.WaitOne(timeout))
        {
            // qimg has no cancellation: the conversion finishes in the background, and its file is deleted then.
            convert.ContinueWith(_ => File.Delete(raw), TaskScheduler.Default);
            return new ReaderRun(true, 0, false, err.ToString());
        }
        try
        {
            if (convert.IsFaulted)
            {
                var e = convert.Exception!.InnerException!;
                return new ReaderRun(false, -1, true, $"unhandled {e.GetType().Name}: {e.Message}");
            }
            if (convert.Result != 0)
            {
                return new ReaderRun(false, convert.Result, true, err.ToString());
            }
            bool complete = scan.ReadFile(raw, limit);
            return new ReaderRun(false, 0, complete, err.ToString());
        }
        finally
        {
            File.Delete(raw);
        }
    }
}
