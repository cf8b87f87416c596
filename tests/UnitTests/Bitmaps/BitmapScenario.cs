using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Qcow2.UnitTests.Interop;

namespace Qcow2.UnitTests.Bitmaps;

/// <summary>
/// Base for bitmap interop tests: the same steps run on two copies of an image, one with qemu-img/qemu-io (folder q),
/// one with qimg/qio (folder o); each step's exit code and normalized output must match, and the files must end
/// byte-identical.
/// </summary>
public abstract class BitmapScenario : InteropFixture
{
    /// <summary>The image's name in both folders, so that outputs naming it compare equal.</summary>
    protected const string Image = "t.qcow2";

    /// <summary>One step: "img" or "io", then the arguments, with IMG standing for the image.</summary>
    protected sealed record Step(string Tool, params string[] Args)
    {
        /// <inheritdoc/>
        public override string ToString() => $"{Tool} {string.Join(' ', Args)}";
    }

    /// <summary>qemu-img / qimg with these arguments.</summary>
    protected static Step Img(params string[] args) => new("img", args);

    /// <summary>qemu-io / qio with these commands (each a -c) on IMG.</summary>
    protected static Step Io(params string[] commands) => new("io", [.. commands.SelectMany(c => new[] { "-c", c }), "IMG"]);

    /// <summary>Makes the base image in folder base with QEMU (a qemu-img command line naming it IMG, plus any steps); returns its path.</summary>
    protected string MakeBase(string create, params string[][] qemuSteps)
    {
        string dir = SubDir("base");
        Must2(dir, ["qemu-img", .. create.Split(' ')]);
        foreach (var s in qemuSteps)
        {
            Must2(dir, s);
        }
        return Path.Combine(dir, Image);
    }

    private void Must2(string dir, string[] cmd)
    {
        var r = Qemu(cmd[0], dir, [.. cmd[1..].Select(a => a == "IMG" ? Image : a)]);
        Assert.That(r.ExitCode, Is.EqualTo(0), $"{string.Join(' ', cmd)}\n{r}");
    }

    /// <summary>Runs the steps on copies of the base image with both tool sets and asserts equal results.</summary>
    protected void RunBoth(string baseImage, params Step[] steps)
    {
        string q = SubDir("q"), o = SubDir("o");
        File.Copy(baseImage, Path.Combine(q, Image), true);
        File.Copy(baseImage, Path.Combine(o, Image), true);
        var log = new List<string>();
        for (int i = 0; i < steps.Length; i++)
        {
            var s = steps[i];
            string[] args = [.. s.Args.Select(a => a == "IMG" ? Image : a)];
            var expected = Qemu(s.Tool == "img" ? "qemu-img" : "qemu-io", q, args);
            var actual = s.Tool == "img" ? Qimg(o, args) : Qio(o, args);
            log.Add($"{i + 1}. {s}");
            string where = string.Join("\n", log);
            Assert.That(Clean(actual.Err), Is.EqualTo(Clean(expected.Err)), $"stderr differs at\n{where}");
            Assert.That(Clean(actual.Out), Is.EqualTo(Clean(expected.Out)), $"stdout differs at\n{where}");
            Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), $"exit code differs at\n{where}");
            byte[] qb = File.ReadAllBytes(Path.Combine(q, Image)), ob = File.ReadAllBytes(Path.Combine(o, Image));
            long at = FirstDifference(qb, ob);
            Assert.That(at, Is.EqualTo(-1), $"files differ at 0x{at:x} (sizes {qb.Length}, {ob.Length}) after\n{where}");
        }
    }

    /// <summary>Normalize, plus QEMU's automatic node names (#blockNNN, a process-wide counter) and disk usage lines.</summary>
    protected static string Clean(string text)
    {
        text = Normalize(text).Replace("'qemu-img --help'", "'qimg --help'", StringComparison.Ordinal);
        text = Regex.Replace(text, "#block[0-9]+", "#blockN");
        return Regex.Replace(text, "^disk size: .*$|^    \"actual-size\": [0-9]+,$", "DISK-SIZE", RegexOptions.Multiline);
    }

    /// <summary>Sets the in_use flag of every bitmap directory entry (what a crash leaves behind).</summary>
    protected static void SetInUse(string image)
    {
        var bytes = File.ReadAllBytes(image);
        var (dir, _) = DirectoryAndL2(image);
        long size = DirectorySize(bytes);
        for (long p = dir; p < dir + size;)
        {
            uint flags = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan((int)p + 12));
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan((int)p + 12), flags | 1);
            int nameSize = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan((int)p + 18));
            p += (24 + nameSize + 7) & ~7;
        }
        File.WriteAllBytes(image, bytes);
    }

    protected static long DirectorySize(byte[] b) => (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(BitmapsExtension(b) + 8));

    /// <summary>Where the bitmaps extension's data starts in cluster 0.</summary>
    protected static int BitmapsExtension(byte[] b)
    {
        int p = (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(100));
        while (true)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(p));
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(p + 4));
            Assert.That(type, Is.Not.EqualTo(0u), "no bitmaps extension");
            if (type == 0x23852875)
            {
                return p + 8;
            }
            p += 8 + ((len + 7) & ~7);
        }
    }

    /// <summary>The bitmap directory offset and the file offset of L2[0] (through L1[0]).</summary>
    protected static (long Dir, long L2) DirectoryAndL2(string image)
    {
        var b = File.ReadAllBytes(image);
        long dir = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(BitmapsExtension(b) + 16));
        long l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(40));
        long l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan((int)l1)) & 0x00fffffffffffe00UL);
        return (dir, l2);
    }
}
