using NUnit.Framework;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Overlap;

/// <summary>Compares the option errors with what the installed qemu-io prints (skipped when QEMU is not installed).</summary>
[TestFixture]
public class QemuReferenceTests
{
    private TempDir? _dir;

    [OneTimeSetUp]
    public void CreateImage()
    {
        _dir = new TempDir("overlap-ref");
        ToolProcess.Must("qemu-img", _dir.Path, "create", "-f", "qcow2", "t.qcow2", "64M");
    }

    [OneTimeTearDown]
    public void RemoveImage() => _dir?.Dispose();

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
        string file = _dir!.PathOf("t.qcow2");
        var (_, _, stderr) = ToolProcess.Run("qemu-io", _dir.Path, "-c", $"open -o {options} {file}");
        var parsed = options.Split(',').Select(o => o.Split('=', 2)).Select(p => KeyValuePair.Create(p[0], p[1]));
        var e = Assert.Throws<ImageOpenException>(() => OverlapCheckOptions.Parse(parsed))!;
        Assert.That(stderr.TrimEnd('\n'), Is.EqualTo($"qemu-io: can't open device {file}: {e.Message}"));
    }
}
