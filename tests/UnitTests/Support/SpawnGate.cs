namespace Qcow2.UnitTests.Support;

/// <summary>
/// Keeps the image locks of files our engine has closed from outliving the close. Between fork and exec a child
/// process holds a copy of every descriptor the test process has open (O_CLOEXEC closes them only at exec), and an
/// open file description keeps its OFD locks until its last descriptor is closed; so when one test starts a process
/// while another test's in-process tool is closing an image, the lock stays held until that child has exec'd, and a
/// QEMU or in-process open of the image at that moment fails with "Failed to get ... lock" (seen on loaded machines).
/// Every process start of the tests goes through <see cref="Start{T}"/>, which returns once the child has exec'd
/// (Process.Start waits for that), and an in-process tool run first passes <see cref="Settle"/>: a start in flight
/// then finishes first, so no copy of a descriptor closed before it is left anywhere.
/// </summary>
public static class SpawnGate
{
    private static readonly object Gate = new();

    /// <summary>Starts a process (start returns once it runs the new program) with no other start in flight.</summary>
    public static T Start<T>(Func<T> start)
    {
        lock (Gate)
        {
            return start();
        }
    }

    /// <summary>Waits until no process start is in flight, so no child holds a copy of a descriptor closed before now.</summary>
    public static void Settle()
    {
        lock (Gate)
        {
        }
    }
}
