using CliWrap;
using CliWrap.Buffered;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// Runs an external program (qemu-img, qemu-io, cp, bash) through CliWrap: one timeout for every test, both streams
/// captured, empty standard input unless given, exit code not validated, <see cref="QemuClock"/> preloaded, and on one
/// CPU (<see cref="OneCpu"/>); a repeated qemu-img create of a fresh image runs once (<see cref="QemuCreateOnce"/>).
/// </summary>
public static class ToolProcess
{
    /// <summary>
    /// The one timeout of a tool process in the tests, as the harness's default: a hang detector, long enough for
    /// qemu-img converting refcount widths on a loaded two-core machine.
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(300);

    private static readonly Dictionary<string, bool> Found = [];

    /// <summary>
    /// Runs a program in dir, with <see cref="QemuClock"/> preloaded unless told not to (building it); null when it cannot
    /// be started (not installed). A timeout fails the test. A repeated qemu-img create of a fresh image is replayed
    /// (<see cref="QemuCreateOnce"/>).
    /// </summary>
    public static ToolRun? TryRun(string tool, string dir, IEnumerable<string> args, string input = "", bool preload = true)
    {
        IReadOnlyList<string> list = [.. args];
        return QemuCreateOnce.Applies(tool, dir, list, input) ? QemuCreateOnce.Run(dir, list, Start) : Start();

        ToolRun? Start() => Spawn(tool, dir, list, input, preload);
    }

    /// <summary>Starts the program and waits for it (TryRun without <see cref="QemuCreateOnce"/>).</summary>
    private static ToolRun? Spawn(string tool, string dir, IReadOnlyList<string> args, string input, bool preload)
    {
        var command = CliWrap.Cli.Wrap(tool)
            .WithArguments(args)
            .WithWorkingDirectory(dir)
            .WithStandardInputPipe(PipeSource.FromString(input))
            .WithValidation(CommandResultValidation.None);
        if (preload && QemuClock.Library is string library)
        {
            string preloaded = Environment.GetEnvironmentVariable("LD_PRELOAD") is { Length: > 0 } other ? $"{library} {other}" : library;
            command = command.WithEnvironmentVariables(e => e.Set("LD_PRELOAD", preloaded));
        }
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            using var cpu = OneCpu.Take();
            var r = SpawnGate.Start(() => cpu.Start(() => command.ExecuteBufferedAsync(cts.Token))).Task.GetAwaiter().GetResult();
            return new ToolRun(r.ExitCode, r.StandardOutput, r.StandardError);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{tool} {string.Join(' ', args)} timed out after {Timeout.TotalSeconds:0} s");
            throw;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Runs a program in dir; when it is not installed the test stops through <see cref="QemuRequired.Missing"/>.</summary>
    public static ToolRun Run(string tool, string dir, params string[] args) => RunWithInput(tool, dir, "", args);

    /// <summary>Runs a program in dir with the given standard input; a missing program stops the test as in <see cref="Run"/>.</summary>
    public static ToolRun RunWithInput(string tool, string dir, string input, params string[] args)
    {
        if (TryRun(tool, dir, args, input) is { } r)
        {
            return r;
        }

        QemuRequired.Missing(tool);
        throw new InvalidOperationException("unreachable: Missing stops the test");
    }

    /// <summary>Runs a program and fails the test unless it exits with 0.</summary>
    public static ToolRun Must(string tool, string dir, params string[] args)
    {
        var r = Run(tool, dir, args);
        Assert.That(r.ExitCode, Is.EqualTo(0), $"{tool} {string.Join(' ', args)}\n{r}");
        return r;
    }

    /// <summary>Whether a program can be started ("TOOL --version" exits with 0); asked once per program per run.</summary>
    public static bool Available(string tool)
    {
        lock (Found)
        {
            if (!Found.TryGetValue(tool, out var found))
            {
                found = TryRun(tool, Path.GetTempPath(), ["--version"])?.ExitCode == 0;
                Found[tool] = found;
            }

            return found;
        }
    }

    /// <summary>Stops the test (ignored on a developer's machine, failed in CI) unless every program is installed.</summary>
    public static void Require(params string[] tools)
    {
        foreach (var tool in tools)
        {
            if (!Available(tool))
            {
                QemuRequired.Missing(tool);
            }
        }
    }
}
