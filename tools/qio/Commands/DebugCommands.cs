using Qcow2.Block;

namespace Qcow2.Tools.Qio.Commands;

/// <summary>break, remove_break, resume and wait_break.</summary>
internal static class DebugCommands
{
    private const int ENOTSUP = -(int)Errno.ENOTSUP;

    /// <summary>The blkdebug layer of an image (file.driver=blkdebug), or null when there is none.</summary>
    public static IBlkdebugControl? Find(BlockDevice device) => device.Blkdebug;

    /// <summary>break EVENT TAG.</summary>
    public static int Break(QioSession s, string[] argv)
    {
        int ret = Find(s.Device!)?.Break(argv[1], argv[2]) ?? ENOTSUP;
        if (ret < 0)
        {
            s.Out.WriteLine($"Could not set breakpoint: {QioSession.StrError(ret)}");
        }
        return ret;
    }

    /// <summary>remove_break TAG.</summary>
    public static int RemoveBreak(QioSession s, string[] argv) =>
        LetRun(s, argv[1], (control, tag) => control.RemoveBreak(tag), $"Could not remove breakpoint {argv[1]}");

    /// <summary>resume TAG: lets the suspended request run on until it finishes or suspends again.</summary>
    public static int Resume(QioSession s, string[] argv) =>
        LetRun(s, argv[1], (control, tag) => control.Resume(tag), "Could not resume request");

    /// <summary>
    /// Asks the blkdebug layer to let the request suspended at tag go (failing with ENOTSUP without one), then runs that
    /// request on; on failure prints "FAILURE: REASON".
    /// </summary>
    private static int LetRun(QioSession s, string tag, Func<IBlkdebugControl, string, int> release, string failure)
    {
        var control = Find(s.Device!);
        var suspended = s.Aio.FindSuspended(tag);
        int ret = control is null ? ENOTSUP : release(control, tag);
        if (ret < 0)
        {
            s.Out.WriteLine($"{failure}: {QioSession.StrError(ret)}");
            return ret;
        }
        if (suspended is not null)
        {
            AioQueue.RunResumed(suspended);
        }
        return 0;
    }

    /// <summary>wait_break TAG: qemu-io polls until a request is suspended there.</summary>
    public static int WaitBreak(QioSession s, string[] argv)
    {
        var control = Find(s.Device!);
        if (control is null)
        {
            // qemu-io would poll forever here; without a blkdebug layer nothing can ever stop, so fail instead.
            return ENOTSUP;
        }
        while (!control.IsSuspended(argv[1]))
        {
            s.Aio.Poll();
            if (s.Aio.InFlight.All(r => r.IsDone || r.SuspendedTag is not null))
            {
                // Requests run one at a time here, so once none is running none can reach the breakpoint;
                // qemu-io would poll forever, qio reports the wait as failed instead of hanging.
                s.Out.WriteLine($"wait_break: no request in flight can reach breakpoint '{argv[1]}'");
                return -(int)Errno.ENOENT;
            }
            Thread.Sleep(1);
        }
        return 0;
    }
}
