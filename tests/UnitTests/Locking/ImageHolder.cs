using System.Diagnostics;
using System.Text;

namespace Qcow2.UnitTests.Locking;

/// <summary>
/// A qemu-io or qio process that keeps an image open: it reads its commands from a pipe on standard input, so it
/// holds the image (and its locks) until it is disposed. It is ready once it has answered a first read.
/// </summary>
public sealed class ImageHolder : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();
    private readonly object _gate = new();

    private ImageHolder(Process process) => _process = process;

    /// <summary>Our qio as a separate process (the apphost built beside the tests).</summary>
    public static string OurQio => Path.Combine(AppContext.BaseDirectory, "qio");

    /// <summary>Starts tool (qemu-io or our qio) in dir with args, and waits until it has read the image's first sector.</summary>
    public static ImageHolder Start(string tool, string dir, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var holder = new ImageHolder(SpawnGate.Start(() => Process.Start(psi)!));
        holder._process.OutputDataReceived += (_, e) => holder.Append(holder._out, e.Data);
        holder._process.ErrorDataReceived += (_, e) => holder.Append(holder._err, e.Data);
        holder._process.BeginOutputReadLine();
        holder._process.BeginErrorReadLine();
        holder.Send("read 0 512");
        holder.WaitFor("read 512/512", $"{tool} {string.Join(' ', args)}");
        return holder;
    }

    /// <summary>Sends one command line to the holder.</summary>
    public void Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
    }

    /// <summary>Waits (at most 30 s) until the holder's standard output contains text; fails the test with its output otherwise.</summary>
    public void WaitFor(string text, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            lock (_gate)
            {
                if (_out.ToString().Contains(text, StringComparison.Ordinal))
                {
                    return;
                }
            }
            if (_process.HasExited)
            {
                _process.WaitForExit();
                break;
            }
            Thread.Sleep(5);
        }
        lock (_gate)
        {
            Assert.Fail($"holder {what} did not print '{text}'\n--- stdout\n{_out}--- stderr\n{_err}");
        }
    }

    /// <summary>Quits the holder (closing its standard input), killing it if it does not end within 10 s.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                Send("quit");
                _process.StandardInput.Close();
                if (!_process.WaitForExit(10_000))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit();
                }
            }
        }
        catch (IOException)
        {
            // The holder ended on its own; its pipe is gone.
        }
        _process.Dispose();
    }

    private void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_gate)
        {
            sb.Append(line).Append('\n');
        }
    }
}
