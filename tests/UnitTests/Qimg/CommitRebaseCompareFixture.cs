using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Qimg;

/// <summary>
/// Shared plumbing of the compare, rebase and commit tests: the same command run by qemu-img and by qimg, either on
/// the test's folder (read-only commands) or on two copies of the input files, after which the outputs must be equal
/// and the files the command changed byte-identical to QEMU's.
/// </summary>
public abstract class CommitRebaseCompareFixture : InteropFixture
{
    /// <summary>Runs a QEMU tool in the test's folder; fails the test unless it succeeds.</summary>
    protected void Sh(string tool, params string[] args) => Must(tool, args);

    /// <summary>Our output with qemu-img's program name, so outputs compare equal.</summary>
    protected static string Theirs(string text) =>
        Normalize(text).Replace("'qemu-img --help'", "'qimg --help'", StringComparison.Ordinal);

    /// <summary>Runs the command with both tools in the test's folder and asserts equal streams and exit codes.</summary>
    protected ToolRun AssertSameRun(params string[] args)
    {
        ToolRun expected = Qemu("qemu-img", null, args);
        ToolRun actual = Qimg(null, args);
        AssertSameOutput(expected, actual, args);
        return actual;
    }

    /// <summary>
    /// Copies files into two folders, runs qemu-img in one and qimg in the other, asserts equal outputs and that
    /// every file listed in identical is byte-identical afterwards; returns the two folders.
    /// </summary>
    protected (string Qemu, string Ours) AssertSameOnCopies(string[] files, string[] identical, params string[] args)
    {
        string theirs = SubDir("qemu-" + Guid.NewGuid().ToString("N")[..8]);
        string ours = SubDir("qimg-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (string f in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(theirs, f))!);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(ours, f))!);
            File.Copy(PathOf(f), Path.Combine(theirs, f));
            File.Copy(PathOf(f), Path.Combine(ours, f));
        }
        ToolRun expected = Qemu("qemu-img", theirs, args);
        ToolRun actual = Qimg(ours, args);
        AssertSameOutput(expected, actual, args);
        foreach (string f in identical)
        {
            long at = FileBytes.FirstDifference(Path.Combine(theirs, f), Path.Combine(ours, f));
            Assert.That(at, Is.EqualTo(-1), $"{f} differs from qemu-img's at byte {at} (lengths {new FileInfo(Path.Combine(theirs, f)).Length}"
                + $" and {new FileInfo(Path.Combine(ours, f)).Length}) after {string.Join(' ', args)}");
        }
        return (theirs, ours);
    }

    private static void AssertSameOutput(ToolRun expected, ToolRun actual, string[] args)
    {
        string what = string.Join(' ', args);
        Assert.That(actual.Out, Is.EqualTo(Theirs(expected.Out)), $"stdout of {what}\nqemu-img: {expected}\nqimg: {actual}");
        Assert.That(actual.Err, Is.EqualTo(Theirs(expected.Err)), $"stderr of {what}\nqemu-img: {expected}\nqimg: {actual}");
        Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), $"exit code of {what}\nqemu-img: {expected}\nqimg: {actual}");
    }

    /// <summary>
    /// A three-level qcow2 chain base ← mid ← top (8 MiB) with data, zero clusters and explicit zeros in each layer,
    /// plus top variants with other cluster sizes and version 2 over the same mid, and a qcow2 over a raw file.
    /// QEMU makes them once per run (BuiltOnce) and every test gets copies.
    /// </summary>
    protected void MakeChain() => BuiltOnce.Folder("commit-rebase-chain", Dir, _ => MakeChainWithQemu());

    private void MakeChainWithQemu()
    {
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "8M");
        Sh("qemu-io", "-c", "write -P 1 0 3M", "-c", "write -P 2 5M 1536k", "base.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2");
        Sh("qemu-io", "-c", "write -P 3 1M 1000k", "-c", "write -z 6M 300k", "-c", "write -P 0 7M 4k", "mid.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2");
        Sh("qemu-io", "-c", "write -P 4 1536k 7k", "-c", "write -P 5 4M 1k", "top.qcow2");
        foreach ((string name, string opts) in new[] { ("top512.qcow2", "cluster_size=512"), ("top2m.qcow2", "cluster_size=2M"), ("topv2.qcow2", "compat=0.10") })
        {
            Sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, "-b", "mid.qcow2", "-F", "qcow2", name);
            Sh("qemu-io", "-c", "write -P 4 1536k 7k", name);
        }
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "small.qcow2", "2M");
        Sh("qemu-io", "-c", "write -P 1 0 1M", "-c", "write -P 9 1M 333k", "small.qcow2");
        Sh("qemu-img", "create", "-q", "-f", "raw", "data.raw", "6M");
        Sh("qemu-io", "-f", "raw", "-c", "write -P 1 0 2M", "-c", "write -P 7 4M 1M", "data.raw");
        Sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", "data.raw", "-F", "raw", "overraw.qcow2");
        Sh("qemu-io", "-c", "write -P 4 1536k 7k", "overraw.qcow2");
    }
}
