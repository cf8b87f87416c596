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

    /// <summary>The guest contents of an image, as qemu-img convert -O raw writes them.</summary>
    protected byte[] GuestData(string image)
    {
        string raw = Path.Combine(Dir, image + ".guest.raw");
        Must("qemu-img", "convert", "-O", "raw", image, raw);
        var data = File.ReadAllBytes(raw);
        File.Delete(raw);
        return data;
    }

    /// <summary>Asserts that two images hold the same guest data (compared through qemu-img convert -O raw).</summary>
    protected void AssertSameGuest(string expectedImage, string actualImage, string context)
    {
        var expected = GuestData(expectedImage);
        var actual = GuestData(actualImage);
        long at = FirstDifference(expected, actual);
        Assert.That(at, Is.EqualTo(-1), $"guest data of {actualImage} differs from {expectedImage} at 0x{at:x} ({context})");
    }

    /// <summary>Asserts that qemu-img check finds neither errors nor leaks in an image.</summary>
    protected void AssertCheckClean(string image, string context)
    {
        var r = Qemu("qemu-img", null, "check", image);
        Assert.That(r.ExitCode, Is.EqualTo(0), $"qemu-img check {image}: {context}\n{r}");
        Assert.That(r.Out, Does.Contain("No errors were found on the image."), $"qemu-img check {image}: {context}\n{r}");
    }

    /// <summary>
    /// Asserts that two files hold the same bytes, naming the first offset that differs. (NUnit's Is.EqualTo compares
    /// arrays element by element, boxed: seconds for a 100 MiB image.)
    /// </summary>
    public static void AssertSameFile(string actual, string expected, string context = "")
    {
        byte[] a = File.ReadAllBytes(actual), b = File.ReadAllBytes(expected);
        long at = FirstDifference(a, b);
        Assert.That(at, Is.EqualTo(-1),
            $"{actual} ({a.Length} bytes) differs from {expected} ({b.Length} bytes) at 0x{at:x}{(context.Length > 0 ? ": " + context : "")}");
    }

    /// <summary>The first offset at which two byte arrays differ, or -1 (and the shorter length when one is a prefix).</summary>
    public static long FirstDifference(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        int at = a.AsSpan(0, n).CommonPrefixLength(b.AsSpan(0, n));
        return at < n ? at : a.Length == b.Length ? -1 : n;
    }
}
