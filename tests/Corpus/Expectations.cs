using System.Diagnostics;

namespace Qcow2.Corpus;

/// <summary>Makes the sidecars from real QEMU: qemu-img convert -f qcow2 -O raw gives the content, its extents and digests.</summary>
public static class Expectations
{
    /// <summary>The longest QEMU may take over one case.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    /// <summary>Asks QEMU about one case of the corpus folder.</summary>
    public static Sidecar FromQemu(string casesDir, CorpusCase c)
    {
        string image = Path.Combine(casesDir, c.ImageFile);
        string raw = Path.Combine(Path.GetTempPath(), $"corpus-{Environment.ProcessId}-{c.Name}.raw");
        try
        {
            string[] source = c.Secret is null
                ? ["-f", "qcow2", image]
                : ["--object", $"secret,id=sec0,data={c.Secret}", "--image-opts",
                   $"driver=qcow2,file.filename={image.Replace(",", ",,", StringComparison.Ordinal)},encrypt.key-secret=sec0"];
            var (rc, _, err) = Run("qemu-img", ["convert", .. source, "-O", "raw", raw]);
            if (rc != 0)
            {
                return new Sidecar(c.Name, false, FirstLine(err.Replace(raw, "OUTPUT.raw", StringComparison.Ordinal), casesDir), 0, null, [])
                    { Secret = c.Secret };
            }
            long size = new FileInfo(raw).Length;
            var runs = Sidecar.ContentExtents(raw);
            var scan = new ContentScan(runs);
            scan.ReadFile(raw, long.MaxValue);
            var extents = runs.Select((r, i) => new Extent(r.Start, r.Length, r.Data, r.Zero, scan.ExtentSha256[i])).ToList();
            return new Sidecar(c.Name, true, null, size, scan.Sha256(), extents) { Secret = c.Secret };
        }
        finally
        {
            File.Delete(raw);
        }
    }

    /// <summary>The first line of a message, with the corpus folder's path taken out (sidecars do not depend on where the corpus is).</summary>
    private static string FirstLine(string text, string casesDir)
    {
        string dir = Path.GetFullPath(casesDir).TrimEnd('/') + "/";
        // The folder as given, and as --image-opts spells it (commas doubled).
        return text.Replace(dir.Replace(",", ",,", StringComparison.Ordinal), "", StringComparison.Ordinal)
            .Replace(dir, "", StringComparison.Ordinal)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
    }

    private static (int Rc, string Out, string Err) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Limit))
        {
            p.Kill(true);
            p.WaitForExit();
            return (-1, "", $"{file} timed out");
        }
        return (p.ExitCode, o.Result, e.Result);
    }
}
