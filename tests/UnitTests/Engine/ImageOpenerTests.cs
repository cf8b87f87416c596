using Qcow2.Block;

namespace Qcow2.UnitTests.Engine;

/// <summary>Opening paths that are not image files, with QEMU's file driver messages.</summary>
[TestFixture]
public sealed class ImageOpenerTests
{
    [Test]
    public void Open_refuses_a_directory_as_qemu_does()
    {
        string dir = Directory.CreateTempSubdirectory("opener-").FullName;
        try
        {
            var ro = Assert.Throws<ImageOpenException>(() => ImageOpener.Open(dir, new OpenOptions { ReadOnly = true }));
            Assert.That(ro!.Message, Is.EqualTo($"'file' driver requires '{dir}' to be a regular file"));
            var rw = Assert.Throws<ImageOpenException>(() => ImageOpener.Open(dir, new OpenOptions()));
            Assert.That(rw!.Message, Is.EqualTo($"Could not open '{dir}': Is a directory"));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Test]
    public void Open_names_a_missing_file()
    {
        string path = Path.Combine(Path.GetTempPath(), "missing-" + Guid.NewGuid().ToString("N") + ".qcow2");
        var e = Assert.Throws<ImageOpenException>(() => ImageOpener.Open(path, new OpenOptions()));
        Assert.That(e!.Message, Is.EqualTo($"Could not open '{path}': No such file or directory"));
    }
}
