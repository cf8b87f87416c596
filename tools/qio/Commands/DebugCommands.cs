using Qcow2.Block;

namespace Qcow2.Tools.Qio.Commands;

/// <summary>
/// What qio needs from a blkdebug layer under the open image. Return values are 0 or a negative errno
/// (-ENOENT for an unknown event or tag, as QEMU's blkdebug returns). When a request reaches a breakpoint,
/// the layer prints "blkdebug: Suspended request 'TAG'" to OpenOptions.Messages, calls
/// <see cref="AioRequest.NotifySuspended"/> on <see cref="AioRequest.Current"/> (if any), and blocks that thread until
/// <see cref="Resume"/>; Resume prints "blkdebug: Resuming request 'TAG'" and releases it.
/// </summary>
internal interface IBreakpointControl
{
    /// <summary>Sets a one-shot breakpoint on a blkdebug event name.</summary>
    int Break(string eventName, string tag);

    /// <summary>Removes a breakpoint (and resumes a request suspended at it).</summary>
    int RemoveBreak(string tag);

    /// <summary>Resumes the request suspended at tag.</summary>
    int Resume(string tag);

    /// <summary>Whether a request is suspended at tag.</summary>
    bool IsSuspended(string tag);
}

/// <summary>break, remove_break, resume and wait_break.</summary>
internal static class DebugCommands
{
    private const int ENOTSUP = -(int)Errno.ENOTSUP;

    /// <summary>The blkdebug layer of an image, or null when there is none (the engine offers none yet).</summary>
    public static IBreakpointControl? Find(BlockDevice device) => device as IBreakpointControl;

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
    public static int RemoveBreak(QioSession s, string[] argv)
    {
        var control = Find(s.Device!);
        var suspended = s.Aio.FindSuspended(argv[1]);
        int ret = control?.RemoveBreak(argv[1]) ?? ENOTSUP;
        if (ret < 0)
        {
            s.Out.WriteLine($"Could not remove breakpoint {argv[1]}: {QioSession.StrError(ret)}");
            return ret;
        }
        if (suspended is not null)
        {
            AioQueue.RunResumed(suspended);
        }
        return 0;
    }

    /// <summary>resume TAG: lets the suspended request run on until it finishes or suspends again.</summary>
    public static int Resume(QioSession s, string[] argv)
    {
        var control = Find(s.Device!);
        var suspended = s.Aio.FindSuspended(argv[1]);
        int ret = control?.Resume(argv[1]) ?? ENOTSUP;
        if (ret < 0)
        {
            s.Out.WriteLine($"Could not resume request: {QioSession.StrError(ret)}");
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
            Thread.Sleep(1);
        }
        return 0;
    }
}
