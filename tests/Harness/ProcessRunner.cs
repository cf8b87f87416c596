using System.Text;
using CliWrap;

namespace Qcow2.Harness;

/// <summary>Runs a tool as a separate process through CliWrap, with stdin from the script and a timeout.</summary>
internal sealed class ProcessRunner(string executable, IReadOnlyList<string> prefixArgs, TimeSpan timeout) : IToolRunner
{
    /// <inheritdoc/>
    public string Description => string.Join(' ', [executable, .. prefixArgs]);

    /// <inheritdoc/>
    public string? Unavailable => Resolve(executable) is null ? $"{executable} not found" + (HasDirectory(executable) ? "" : " on PATH") : null;

    /// <inheritdoc/>
    public ToolRun Run(IReadOnlyList<string> args, string? stdin, string workDir, bool merge)
    {
        var exe = Resolve(executable) ?? executable;
        var chunks = new List<OutputChunk>();
        var gate = new object();
        var all = prefixArgs.Concat(args).ToList();
        Command cmd;
        if (merge && !OperatingSystem.IsWindows())
        {
            // One pipe for both streams, as the shell's 2>&1 gives: the kernel keeps the write order.
            cmd = CliWrap.Cli.Wrap("/bin/sh").WithArguments(["-c", "exec \"$0\" \"$@\" 2>&1", exe, .. all]);
        }
        else
        {
            cmd = CliWrap.Cli.Wrap(exe).WithArguments(all);
        }

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        cmd = cmd.WithWorkingDirectory(workDir)
            .WithValidation(CommandResultValidation.None)
            .WithEnvironmentVariables(e => e.Set("LC_ALL", "C").Set("LANG", "C"))
            .WithStandardInputPipe(PipeSource.FromString(stdin ?? ""))
            .WithStandardOutputPipe(merge ? PipeTarget.Create((s, ct) => Collect(s, false, chunks, gate, ct)) : PipeTarget.ToStringBuilder(stdout))
            .WithStandardErrorPipe(merge ? PipeTarget.Create((s, ct) => Collect(s, true, chunks, gate, ct)) : PipeTarget.ToStringBuilder(stderr));
        using var cts = new CancellationTokenSource(timeout);
        int code;
        try
        {
            code = cmd.ExecuteAsync(cts.Token).Task.GetAwaiter().GetResult().ExitCode;
        }
        catch (OperationCanceledException)
        {
            chunks.Add(new OutputChunk(true, $"iotests: {Path.GetFileName(exe)} killed after {timeout.TotalSeconds:0} s\n"));
            code = 124;
        }

        if (!merge)
        {
            // A tool whose stdout is piped writes its stderr straight through; the filtered stdout follows when it exits.
            chunks.Add(new OutputChunk(true, stderr.ToString()));
            chunks.Add(new OutputChunk(false, stdout.ToString()));
        }

        return new ToolRun(code, chunks);
    }

    private static async Task Collect(Stream s, bool isError, List<OutputChunk> chunks, object gate, CancellationToken ct)
    {
        using var reader = new StreamReader(s, new UTF8Encoding(false));
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer.AsMemory(), ct).ConfigureAwait(false)) > 0)
        {
            lock (gate)
            {
                chunks.Add(new OutputChunk(isError, new string(buffer, 0, n)));
            }
        }
    }

    private static bool HasDirectory(string exe) => exe.Contains('/', StringComparison.Ordinal) || exe.Contains('\\', StringComparison.Ordinal);

    /// <summary>Finds the executable: a path as given, or the first match on PATH (with PATHEXT on Windows).</summary>
    public static string? Resolve(string exe)
    {
        var exts = OperatingSystem.IsWindows()
            ? ["", .. (Environment.GetEnvironmentVariable("PATHEXT") ?? ".EXE").Split(';')]
            : new[] { "" };
        if (HasDirectory(exe))
        {
            return exts.Select(e => exe + e).FirstOrDefault(File.Exists);
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var e in exts)
            {
                var candidate = Path.Combine(dir, exe + e);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
