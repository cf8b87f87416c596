using System.Diagnostics;

namespace Qcow2.Tools.Qio;

/// <summary>
/// Asynchronous requests as qemu-io runs them, one engine call at a time: each request runs on its own thread
/// while the command loop waits, until it either finishes or is suspended (by a blkdebug breakpoint, which calls
/// <see cref="AioRequest.NotifySuspended"/> on the request's thread). Completion reports are printed when qemu-io
/// would deliver them: at aio_flush, wait_break, sleep, close and exit.
/// </summary>
internal sealed class AioQueue
{
    private readonly List<AioRequest> _inFlight = [];

    /// <summary>Requests submitted and not yet reported.</summary>
    public IReadOnlyList<AioRequest> InFlight => _inFlight;

    /// <summary>Starts a request; returns once it has finished or is suspended.</summary>
    /// <param name="work">the engine call: returns 0 or a negative errno</param>
    /// <param name="complete">prints the report: gets the result and the elapsed time</param>
    /// <param name="startTimestamp">Stopwatch timestamp the elapsed time counts from</param>
    public AioRequest Submit(Func<int> work, Action<int, TimeSpan> complete, long startTimestamp)
    {
        var request = new AioRequest(work, complete, startTimestamp);
        _inFlight.Add(request);
        request.Start();
        return request;
    }

    /// <summary>Prints the reports of the requests that have finished, in the order they finished.</summary>
    public void Poll()
    {
        foreach (var r in _inFlight.Where(r => r.IsDone).OrderBy(r => r.EndTimestamp).ToList())
        {
            _inFlight.Remove(r);
            r.Report();
        }
    }

    /// <summary>Waits for every request to finish (forever, as qemu-io does, while one stays suspended), then reports them.</summary>
    public void Drain()
    {
        foreach (var r in _inFlight.ToList())
        {
            r.WaitFinished();
        }
        Poll();
    }

    /// <summary>The suspended request with this blkdebug tag, if any.</summary>
    public AioRequest? FindSuspended(string tag) => _inFlight.FirstOrDefault(r => r.SuspendedTag == tag);

    /// <summary>Lets a suspended request run on after the engine resumed it, until it finishes or suspends again.</summary>
    public static void RunResumed(AioRequest request) => request.AfterResume();
}

/// <summary>One asynchronous request running on its own thread, handing control back at completion or suspension.</summary>
internal sealed class AioRequest
{
    [ThreadStatic]
    private static AioRequest? _current;

    private readonly Func<int> _work;
    private readonly Action<int, TimeSpan> _complete;
    private readonly long _start;
    private readonly SemaphoreSlim _yielded = new(0);
    private readonly ManualResetEventSlim _finished = new(false);
    private int _result;

    /// <summary>Creates a request (not started).</summary>
    public AioRequest(Func<int> work, Action<int, TimeSpan> complete, long startTimestamp)
    {
        _work = work;
        _complete = complete;
        _start = startTimestamp;
    }

    /// <summary>The request running on the calling thread, or null on the command loop's thread.</summary>
    public static AioRequest? Current => _current;

    /// <summary>Whether the request has finished.</summary>
    public bool IsDone => _finished.IsSet;

    /// <summary>The blkdebug tag the request is suspended at, or null while it runs or after it finished.</summary>
    public string? SuspendedTag { get; private set; }

    /// <summary>Stopwatch timestamp when it finished.</summary>
    public long EndTimestamp { get; private set; }

    /// <summary>Runs the request on its thread until it finishes or suspends.</summary>
    public void Start()
    {
        var thread = new Thread(Body, 16 << 20) { IsBackground = true, Name = "qio aio" };
        thread.Start();
        _yielded.Wait();
    }

    private void Body()
    {
        _current = this;
        try
        {
            _result = _work();
        }
        catch (Exception e) when (QioSession.IsRequestFailure(e))
        {
            _result = QioSession.ErrnoOf(e);
        }
        catch (Exception)
        {
            _result = -(int)Errno.EIO;
        }
        EndTimestamp = Stopwatch.GetTimestamp();
        _finished.Set();
        _yielded.Release();
    }

    /// <summary>Called on the request's own thread just before the engine blocks it at a breakpoint: hands control back.</summary>
    public void NotifySuspended(string tag)
    {
        SuspendedTag = tag;
        _yielded.Release();
    }

    /// <summary>Called on the command loop's thread after the engine released the request: waits for its next hand-back.</summary>
    public void AfterResume()
    {
        SuspendedTag = null;
        _yielded.Wait();
    }

    /// <summary>Blocks until the request has finished.</summary>
    public void WaitFinished() => _finished.Wait();

    /// <summary>Prints the completion report.</summary>
    public void Report() => _complete(_result, Stopwatch.GetElapsedTime(_start, EndTimestamp));
}
