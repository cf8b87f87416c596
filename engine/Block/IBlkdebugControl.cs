namespace Qcow2.Block;

/// <summary>
/// Breakpoints of a blkdebug layer, as qemu-io's break, remove_break, resume and wait_break use them. Return values
/// are 0 or a negative errno (-ENOENT for an unknown event or tag, as QEMU's blkdebug answers).
/// </summary>
public interface IBlkdebugControl
{
    /// <summary>Suspends the next request that reaches the event (one-shot).</summary>
    int Break(string eventName, string tag);

    /// <summary>Removes a breakpoint, resuming a request suspended at it.</summary>
    int RemoveBreak(string tag);

    /// <summary>Resumes the request suspended at tag.</summary>
    int Resume(string tag);

    /// <summary>Whether a request is suspended at tag.</summary>
    bool IsSuspended(string tag);
}
