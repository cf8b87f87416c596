using System.Text.RegularExpressions;

namespace Qcow2.UnitTests.Interop;

/// <summary>
/// Base for tests that compare our tools with the installed QEMU 7.2: a temporary folder per test, in-process runs of
/// qimg and qio, and real qemu-img / qemu-io runs (the fixture is ignored when QEMU is not installed).
/// </summary>
public abstract class InteropFixture : FolderFixture
{
    /// <summary>Skips the fixture when qemu-img or qemu-io is missing (CI installs qemu-utils).</summary>
    [OneTimeSetUp]
    public static void RequireQemu() => ToolProcess.Require("qemu-img", "qemu-io");

    /// <summary>Runs qemu-img or qemu-io in a folder (the test's folder by default).</summary>
    protected ToolRun Qemu(string tool, string? dir, params string[] args) => ToolProcess.Run(tool, dir ?? Dir, args);

    /// <summary>Runs a QEMU tool in the test's folder and fails the test unless it exits with 0.</summary>
    protected ToolRun Must(string tool, params string[] args) => ToolProcess.Must(tool, Dir, args);

    /// <summary>Runs qimg in-process in a folder (the test's folder by default).</summary>
    protected ToolRun Qimg(string? dir, params string[] args) => Support.InProcess.Qimg(dir ?? Dir, args);

    /// <summary>Runs qio in-process in a folder (the test's folder by default).</summary>
    protected ToolRun Qio(string? dir, params string[] args) => Support.InProcess.Qio(dir ?? Dir, args);

    /// <summary>Maps QEMU's program-name prefixes ("qemu-io: ") to ours and replaces qemu-io's timing lines, so outputs compare equal.</summary>
    public static string Normalize(string text)
    {
        text = text.Replace("qemu-io: ", "qio: ", StringComparison.Ordinal).Replace("qemu-img: ", "qimg: ", StringComparison.Ordinal);
        return Regex.Replace(text, @"^[0-9.]+ (bytes|[KMGTPE]iB), [0-9]+ ops; .*$", "TIMING", RegexOptions.Multiline);
    }

    /// <summary>
    /// Asserts that two images hold the same guest data, as qemu-img compare sees it (unallocated and zero clusters
    /// read alike, a size mismatch is reported): one process, and nothing written, where a convert to raw of each
    /// would write both disks out.
    /// </summary>
    protected void AssertSameGuest(string expectedImage, string actualImage, string context)
    {
        var r = Qemu("qemu-img", null, "compare", expectedImage, actualImage);
        Assert.That(r.Out, Is.EqualTo("Images are identical.\n"), $"guest data of {actualImage} differs from {expectedImage} ({context})\n{r}");
        Assert.That(r.ExitCode, Is.EqualTo(0), $"qemu-img compare {expectedImage} {actualImage} ({context})\n{r}");
    }

    /// <summary>Asserts that qemu-img check finds neither errors nor leaks in an image.</summary>
    protected void AssertCheckClean(string image, string context)
    {
        var r = Qemu("qemu-img", null, "check", image);
        Assert.That(r.ExitCode, Is.EqualTo(0), $"qemu-img check {image}: {context}\n{r}");
        Assert.That(r.Out, Does.Contain("No errors were found on the image."), $"qemu-img check {image}: {context}\n{r}");
    }

    /// <summary>The first offset at which two byte arrays differ, or -1 (and the shorter length when one is a prefix).</summary>
    public static long FirstDifference(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        int at = a.AsSpan(0, n).CommonPrefixLength(b.AsSpan(0, n));
        return at < n ? at : a.Length == b.Length ? -1 : n;
    }
}
