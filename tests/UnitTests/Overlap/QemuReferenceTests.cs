using System.Diagnostics;
using NUnit.Framework;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Overlap;

/// <summary>Compares the option errors with what the installed qemu-io prints (skipped when QEMU is not installed).</summary>
[TestFixture]
public class QemuReferenceTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void CreateImage()
    {
        _dir = Path.Combine(Path.GetTempPath(), "overlap-ref-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var (code, _, _) = Run("qemu-img", ["create", "-f", "qcow2", Path.Combine(_dir, "t.qcow2"), "64M"]);
        if (code != 0)
        {
            QemuRequired.Missing("qemu-img");
        }
    }

    [OneTimeTearDown]
    public void RemoveImage()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    [TestCase("overlap-check.active-l1=maybe")]
    [TestCase("overlap-check.main-header=x,overlap-check.active-l1=x")]
    [TestCase("overlap-check.inactive-l2=x,overlap-check.refcount-block=x")]
    [TestCase("overlap-check.active-l2=x,overlap-check.active-l1=x")]
    [TestCase("overlap-check=foo")]
    [TestCase("overlap-check=")]
    [TestCase("overlap-check.template=foo")]
    [TestCase("overlap-check=all,overlap-check.template=none")]
    [TestCase("overlap-check=foo,overlap-check.active-l1=maybe")]
    public void Error_matches_qemu_io(string options)
    {
        string file = Path.Combine(_dir, "t.qcow2");
        var (_, _, stderr) = Run("qemu-io", ["-c", $"open -o {options} {file}"]);
        var parsed = options.Split(',').Select(o => o.Split('=', 2)).Select(p => KeyValuePair.Create(p[0], p[1]));
        var e = Assert.Throws<ImageOpenException>(() => OverlapCheckOptions.Parse(parsed))!;
        Assert.That(stderr.TrimEnd('\n'), Is.EqualTo($"qemu-io: can't open device {file}: {e.Message}"));
    }

    private static (int Code, string Out, string Err) Run(string tool, string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(30_000))
            {
                p.Kill();
                return (-1, "", "timeout");
            }

            return (p.ExitCode, stdout.Result, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, "", tool + " not found");
        }
    }
}
