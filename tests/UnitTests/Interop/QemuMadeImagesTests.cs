namespace Qcow2.UnitTests.Interop;

/// <summary>
/// Images made and written by qemu-img and qemu-io (plain, compressed, zero and discarded clusters, a chain
/// qcow2 → qcow2 → raw): qio reads the same bytes as qemu-io (read -v dumps of the whole guest), qio's map and alloc
/// agree with qemu-io's, qimg info/map --output=json equal qemu-img's, and none of our runs changes the file.
/// </summary>
[TestFixture]
[Category("Interop")]
public class QemuMadeImagesTests : InteropFixture
{
    /// <summary>How to make one image: the image to read, its virtual size, and the QEMU commands that build it.</summary>
    private sealed record Recipe(string Image, long Size, string[][] Steps);

    private static string[] Io(string image, params string[] commands) =>
        ["qemu-io", .. commands.SelectMany(c => new[] { "-c", c }), image];

    private static string[] Create(string image, string size, string options = "") =>
        options.Length == 0 ? ["qemu-img", "create", "-q", "-f", "qcow2", image, size] : ["qemu-img", "create", "-q", "-f", "qcow2", "-o", options, image, size];

    private static readonly Dictionary<string, Recipe> Recipes = new()
    {
        ["plain-64k"] = new("a.qcow2", 1 << 20, [
            Create("a.qcow2", "1M"),
            Io("a.qcow2", "write -P 1 0 100k", "write -P 2 1000 3000", "write -P 3 700007 70k", "write -P 4 1048064 512"),
        ]),
        ["plain-512-refcount1"] = new("a.qcow2", 1 << 20, [
            Create("a.qcow2", "1M", "cluster_size=512,refcount_bits=1"),
            Io("a.qcow2", "write -P 1 0 100k", "write -P 2 300000 4097", "write -P 3 1040000 8576"),
        ]),
        ["plain-4k-refcount64"] = new("a.qcow2", 1 << 20, [
            Create("a.qcow2", "1M", "cluster_size=4k,refcount_bits=64,lazy_refcounts=on"),
            Io("a.qcow2", "write -P 1 4095 2", "write -P 2 500k 300k"),
        ]),
        ["v2-zero-discard"] = new("a.qcow2", 1 << 20, [
            Create("a.qcow2", "1M", "compat=0.10,cluster_size=4k"),
            Io("a.qcow2", "write -P 5 0 1M", "write -z 64k 64k", "write -z 200000 5000", "discard 512k 128k", "write -zu 800k 8k"),
        ]),
        ["v3-zero-discard"] = new("a.qcow2", 1 << 20, [
            Create("a.qcow2", "1M"),
            Io("a.qcow2", "write -P 7 0 1M", "write -z 64k 64k", "write -zu 192k 64k", "discard 320k 128k", "write -z 500k 1000",
                "write -P 8 330k 4k"),
        ]),
        ["compressed"] = new("a.qcow2", 1 << 20, [
            Create("a.qcow2", "1M"),
            Io("a.qcow2", "write -c -P 5 0 256k", "write -P 6 70k 10k", "write -c -P 9 960k 64k", "write -z 128k 64k", "discard 192k 64k"),
        ]),
        ["compressed-4k"] = new("a.qcow2", 1 << 20, [
            Create("a.qcow2", "1M", "cluster_size=4k"),
            Io("a.qcow2", "write -c -P 5 0 256k", "write -P 6 7k 10k", "write -c -P 9 1020k 4k"),
        ]),
        ["cluster-2M"] = new("a.qcow2", 6 << 20, [
            Create("a.qcow2", "6M", "cluster_size=2M"),
            Io("a.qcow2", "write -P 1 1M 2M", "write -z 3M 1M", "write -c -P 3 4M 2M"),
        ]),
        ["chain"] = new("sub/top.qcow2", 1 << 20, [
            ["qemu-img", "create", "-q", "-f", "raw", "sub/base.raw", "1M"],
            ["qemu-io", "-f", "raw", "-c", "write -P 1 0 1M", "sub/base.raw"],
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "sub/mid.qcow2"],
            Io("sub/mid.qcow2", "write -P 2 64k 64k", "write -z 128k 64k", "discard 192k 64k", "write -P 3 300k 1000", "write -c -P 4 512k 64k"),
            ["qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "-b", "mid.qcow2", "-F", "qcow2", "sub/top.qcow2"],
            Io("sub/top.qcow2", "write -P 5 4k 4k", "write -z 70k 4k", "discard 66k 4k", "write -P 6 301k 100", "write -zu 600k 8k", "discard 900k 8k"),
        ]),
    };

    private static IEnumerable<TestCaseData> Cases() => Recipes.Keys.Select(k => new TestCaseData(k).SetName($"Qemu_made_image_reads_the_same({k})"));

    private void Build(Recipe recipe)
    {
        Directory.CreateDirectory(PathOf("sub"));
        foreach (var step in recipe.Steps)
        {
            Must(step[0], step[1..]);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Reads_and_reports_match(string name)
    {
        var recipe = Recipes[name];
        Build(recipe);
        var images = Directory.GetFiles(Dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        string dump = $"read -v 0 {recipe.Size}";
        var theirs = Qemu("qemu-io", null, "-c", dump, "-c", "map", "-c", $"alloc 0 {recipe.Size}", recipe.Image);
        var ours = Qio(null, "-c", dump, "-c", "map", "-c", $"alloc 0 {recipe.Size}", recipe.Image);
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), $"{name}: {ours.Err}");
        Assert.That(theirs.ExitCode, Is.EqualTo(0), theirs.Err);
        Assert.That(theirs.Out, Does.Contain($"read {recipe.Size}/{recipe.Size} bytes at offset 0"), "qemu-io's dump");
        Assert.That(ours.Err, Is.EqualTo(Normalize(theirs.Err)), $"{name}: stderr");
        AssertSameLines(Normalize(theirs.Out), Normalize(ours.Out), $"{name}: qio read -v / map / alloc");

        foreach (string[] cmd in new[]
        {
            new[] { "info", "--output=json", recipe.Image },
            ["info", "--output=json", "--backing-chain", recipe.Image],
            ["map", "--output=json", recipe.Image],
            ["map", recipe.Image],
        })
        {
            var q = Qemu("qemu-img", null, cmd);
            var m = Qimg(null, cmd);
            string what = $"{name}: {string.Join(' ', cmd)}";
            Assert.That(m.ExitCode, Is.EqualTo(q.ExitCode), what + "\n" + m);
            Assert.That(m.Err, Is.EqualTo(Normalize(q.Err)), what);
            Assert.That(m.Out, Is.EqualTo(Normalize(q.Out)), what);
        }

        foreach (var (file, before) in images)
        {
            Assert.That(FirstDifference(before, File.ReadAllBytes(file)), Is.EqualTo(-1), $"{name}: our tools changed {file}");
        }
    }

    /// <summary>Compares two long outputs line by line, naming the first line that differs.</summary>
    private static void AssertSameLines(string expected, string actual, string context)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Min(e.Length, a.Length); i++)
        {
            if (e[i] != a[i])
            {
                Assert.Fail($"{context}: line {i + 1} differs\n  expected: {e[i]}\n  actual:   {a[i]}");
            }
        }
        Assert.That(a.Length, Is.EqualTo(e.Length), $"{context}: number of lines");
    }
}
