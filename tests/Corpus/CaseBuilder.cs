using Qcow2.Cli;
using Qcow2.Tools.Mkimage;
using Qcow2.Tools.Qimg;
using Qcow2.Tools.Qio;

namespace Qcow2.Corpus;

/// <summary>
/// Builds one case in the output folder with this project's own tools, run in-process (their layouts are qemu-img's
/// and qemu-io's byte for byte). In arguments, {img} stands for the case's image (NAME.qcow2), {d} for its folder
/// of other files (NAME.d, as a backing name relative to the image's folder, which is how QEMU resolves it) and
/// {abs} for that folder's absolute path ({abs,} for the same inside -o options, its commas doubled). Files the tools open are named by absolute paths ({img} expands to one).
/// </summary>
public sealed class CaseBuilder
{
    private readonly CorpusCase _case;

    /// <summary>Creates a builder for a case in dir.</summary>
    public CaseBuilder(string dir, CorpusCase c)
    {
        Dir = dir;
        _case = c;
    }

    /// <summary>The clock the tools date snapshots with: fixed, so the same case gets the same bytes.</summary>
    private static readonly FixedClock Clock = new(Generator.SnapshotTime);

    /// <summary>The output folder.</summary>
    public string Dir { get; }

    /// <summary>The image's full path.</summary>
    public string ImagePath => Path.Combine(Dir, _case.ImageFile);

    /// <summary>The full path of a file in the case's folder.</summary>
    public string SidePath(string name) => Path.Combine(Dir, _case.SideFolder, name);

    /// <summary>Runs qimg with the arguments (placeholders expanded); a failure stops the generator.</summary>
    public void Img(params string[] args) => Run("qemu-img", QimgTool.Run, args);

    /// <summary>Runs qio with one -c per command on the image.</summary>
    public void Io(params string[] commands) =>
        Run("qemu-io", QioTool.Run, [.. commands.SelectMany(c => new[] { "-c", c }), "{img}"]);

    /// <summary>Runs qio with one -c per command on another file (placeholders expanded).</summary>
    public void IoOn(string file, params string[] commands) =>
        Run("qemu-io", QioTool.Run, [.. commands.SelectMany(c => new[] { "-c", c }), file]);

    /// <summary>Runs qimg create for an encrypted image: secret defined as sec0, then the -o options (encrypt.* among them).</summary>
    public void CreateEncrypted(string secret, string options, string size) =>
        Img("create", "-q", "-f", "qcow2", "--object", $"secret,id=sec0,data={secret}", "-o", options, "{img}", size);

    /// <summary>Runs qio with one -c per command on the encrypted image, its secret given as QEMU takes it (--image-opts).</summary>
    public void IoEncrypted(string secret, params string[] commands) =>
        Run("qemu-io", QioTool.Run, ["--object", $"secret,id=sec0,data={secret}", "--image-opts",
            .. commands.SelectMany(c => new[] { "-c", c }),
            $"driver=qcow2,file.filename={ImagePath.Replace(",", ",,", StringComparison.Ordinal)},encrypt.key-secret=sec0"]);

    /// <summary>Runs mkimage on the image with the arguments.</summary>
    public void Mk(params string[] args) => Run("mkimage", MkimageTool.Run, ["{img}", .. args]);

    /// <summary>Runs a step given as a QEMU command line (qemu-img, qemu-io or mkimage, then its arguments).</summary>
    public void Step(string[] step)
    {
        Func<string[], ToolContext, int> tool = step[0] switch
        {
            "qemu-img" => QimgTool.Run,
            "qemu-io" => QioTool.Run,
            "mkimage" => MkimageTool.Run,
            _ => throw new InvalidOperationException($"unknown tool {step[0]}"),
        };
        Run(step[0], tool, step[1..]);
    }

    /// <summary>Writes a file of the case's folder: size bytes of zeros, then the writes (offset, length, pattern).</summary>
    public string RawFile(string name, long size, params (long Offset, int Length, byte Pattern)[] writes)
    {
        string rel = Path.Combine(_case.SideFolder, name);
        string path = Path.Combine(Dir, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        f.SetLength(size);
        foreach (var (off, len, pat) in writes)
        {
            f.Position = off;
            f.Write(Enumerable.Repeat(pat, len).ToArray());
        }
        return rel;
    }

    /// <summary>
    /// Writes a raw file of the case's folder with seeded pseudo-random content that compresses partly: per 4 KiB,
    /// random bytes, one repeated byte, or zeros. Returns its full path.
    /// </summary>
    public string RandomFile(string name, int size, int seed)
    {
        string path = SidePath(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var rng = new Random(seed);
        var data = new byte[size];
        for (int off = 0; off < size; off += 4096)
        {
            var block = data.AsSpan(off, Math.Min(4096, size - off));
            switch (rng.Next(3))
            {
                case 0: rng.NextBytes(block); break;
                case 1: block.Fill((byte)rng.Next(1, 256)); break;
                default: break;
            }
        }
        File.WriteAllBytes(path, data);
        return path;
    }

    /// <summary>Overwrites bytes of the image.</summary>
    public void Poke(long offset, byte[] data)
    {
        using var f = new FileStream(ImagePath, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(data);
    }

    private string Expand(string a)
    {
        string abs = Path.GetFullPath(Path.Combine(Dir, _case.SideFolder));
        return a
            .Replace("{img}", ImagePath, StringComparison.Ordinal)
            .Replace("{d}", _case.SideFolder, StringComparison.Ordinal)
            .Replace("{abs,}", abs.Replace(",", ",,", StringComparison.Ordinal), StringComparison.Ordinal)
            .Replace("{abs}", abs, StringComparison.Ordinal);
    }

    private void Run(string name, Func<string[], ToolContext, int> tool, string[] args)
    {
        var expanded = args.Select(Expand).ToArray();
        if (expanded.Any(a => a.Contains(_case.SideFolder, StringComparison.Ordinal)))
        {
            Directory.CreateDirectory(Path.Combine(Dir, _case.SideFolder));
        }
        var o = new StringWriter();
        var e = new StringWriter();
        var ctx = new ToolContext(new StringReader(""), o, e, Dir) { Clock = Clock };
        int rc = tool(expanded, ctx);
        ctx.Out.Flush();
        // qemu-io exits 0 when one of its commands fails, and says so on stderr.
        if (rc != 0 || e.ToString().Contains("failed", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{_case.Name}: {name} {string.Join(' ', expanded)} failed ({rc}): {e}{o}");
        }
    }
}
