namespace Qcow2.UnitTests;

/// <summary>
/// What a test does when QEMU's tools are missing: on a developer's machine it is reported as not run, with the
/// reason; in CI (CI=true), where .ci/run installs qemu-utils, it fails, because interop tests are never skipped there.
/// </summary>
internal static class QemuRequired
{
    /// <summary>Stops the test because a QEMU tool (or another program .ci/run installs, from package) is missing.</summary>
    public static void Missing(string what, string package = "qemu-utils")
    {
        string reason = $"{what} is not installed (Debian: apt-get install {package})";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(reason + "; CI must run the interop tests");
        }
        Assert.Ignore(reason);
    }
}
