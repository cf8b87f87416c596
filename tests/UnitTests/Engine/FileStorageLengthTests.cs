using Qcow2.Storage;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Engine;

/// <summary>
/// FileStorage keeps the file length as QEMU's block layer keeps total_sectors: read once, then updated by the
/// requests of this open. Every step here compares the cached length with what the host file system reports.
/// </summary>
[TestFixture]
public class FileStorageLengthTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir("filestorage");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string NewFile(int bytes)
    {
        string path = _dir.PathOf($"f{Guid.NewGuid():N}");
        File.WriteAllBytes(path, new byte[bytes]);
        return path;
    }

    private static void AssertSameAsHost(FileStorage s, string path, long expected, string step)
    {
        Assert.Multiple(() =>
        {
            Assert.That(s.Length, Is.EqualTo(expected), step + ": cached length");
            Assert.That(new FileInfo(path).Length, Is.EqualTo(expected), step + ": host length");
        });
    }

    [Test]
    public void Writes_zero_writes_truncates_and_allocations_keep_the_cached_length_true()
    {
        string path = NewFile(1000);
        using var s = new FileStorage(path, readOnly: false);
        AssertSameAsHost(s, path, 1000, "open");
        (Action<FileStorage> Act, long Expected, string Step)[] steps =
        [
            (st => st.Write(5000, new byte[24]), 5024, "write past the end"),
            (st => st.Write(10, new byte[24]), 5024, "write inside"),
            (st => st.Write(9000, ReadOnlySpan<byte>.Empty), 5024, "empty write past the end"),
            (st => st.WriteZeroes(8192, 4096), 12288, "zero write past the end"),
            (st => st.WriteZeroes(20000, 0), 12288, "empty zero write past the end"),
            (st => st.SetLength(3000), 3000, "shrink"),
            (st => st.Allocate(3000, 65536), 68536, "allocate"),
            (st => st.Discard(0, 68536), 68536, "discard keeps the size"),
            (st => st.SetLength(70000), 70000, "grow"),
        ];
        foreach (var (act, expected, step) in steps)
        {
            act(s);
            AssertSameAsHost(s, path, expected, step);
        }
    }

    [Test]
    public void Bytes_written_read_back_through_positional_io()
    {
        var rng = new Random(15);
        TestContext.Out.WriteLine("seed 15");
        string path = NewFile(0);
        var data = new byte[70000];
        rng.NextBytes(data);
        using (var s = new FileStorage(path, readOnly: false))
        {
            s.Write(123, data);
            s.Flush();
        }
        using var r = new FileStorage(path, readOnly: true);
        var back = new byte[data.Length + 100];
        r.Read(123, back);
        Assert.Multiple(() =>
        {
            Assert.That(r.Length, Is.EqualTo(123 + data.Length));
            Assert.That(back.AsSpan(0, data.Length).SequenceEqual(data), Is.True);
            Assert.That(back.AsSpan(data.Length).ToArray(), Is.All.EqualTo(0), "bytes past the end read as zeros");
        });
    }
}
