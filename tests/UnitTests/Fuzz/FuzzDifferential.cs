using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Fuzz;

/// <summary>
/// The sampled comparison with QEMU (slow: two or three qemu-img processes per mutant): whether qemu-img opens the
/// mutant; if it refuses, none of our writing commands may change the file; if both open it, `convert -O raw` must
/// give the same guest data (or fail in both); our refusal of an image QEMU opens (or the reverse) is a finding too,
/// except where the engine refuses a feature by design (encryption, extended L2 entries).
/// </summary>
internal static class FuzzDifferential
{
    /// <summary>Largest raw output compared byte for byte (larger ones are compared by length).</summary>
    private const long MaxCompared = 64L << 20;

    /// <summary>
    /// Whether QEMU keeps the engine tier's write on this image (qemu-io writes the same pattern, then reads it back
    /// after reopening): a write our engine loses is a finding only when QEMU keeps it.
    /// </summary>
    public static bool QemuKeepsWrite(FuzzRunner runner, byte[] image)
    {
        File.WriteAllBytes(runner.ImagePath, image);
        var w = Support.ToolProcess.Run("qemu-io", runner.Dir, FuzzEngineTier.QemuWrite);
        if (w.ExitCode != 0 || w.Out.Contains("failed", StringComparison.Ordinal) || w.Err.Length > 0)
        {
            return false;
        }
        var r = Support.ToolProcess.Run("qemu-io", runner.Dir, FuzzEngineTier.QemuReadBack);
        return r.ExitCode == 0 && !r.Out.Contains("failed", StringComparison.Ordinal) && r.Err.Length == 0;
    }

    /// <summary>QEMU's time for a command that ran past our limit: when QEMU too needs seconds (a repair that grows the file to hundreds of GiB), the slowness is the image's.</summary>
    public static bool QemuIsSlowToo(FuzzRunner runner, byte[] image, FuzzCommand c)
    {
        File.WriteAllBytes(runner.ImagePath, image);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Support.ToolProcess.Run(c.Tool == "qio" ? "qemu-io" : "qemu-img", runner.Dir, c.Args);
        bool slow = sw.Elapsed > TimeSpan.FromSeconds(3);
        foreach (string f in Directory.GetFiles(runner.Dir))
        {
            File.Delete(f);
        }
        return slow;
    }

    /// <summary>Compares one mutant (already written to the runner's t.img) with QEMU; returns the findings.</summary>
    public static List<FuzzFinding> Compare(FuzzRunner runner, byte[] image, Func<string, string, string, FuzzFinding> finding)
    {
        var findings = new List<FuzzFinding>();
        File.WriteAllBytes(runner.ImagePath, image);
        var qInfo = Support.ToolProcess.Run("qemu-img", runner.Dir, "info", "t.img");
        var ours = runner.RunOne(new FuzzCommand("qimg", ["info", "t.img"], false));
        bool qemuOpens = qInfo.ExitCode == 0, weOpen = ours.ExitCode == 0;
        if (qemuOpens != weOpen && !(weOpen == false && ours.Err.Contains("not supported by this engine", StringComparison.Ordinal)))
        {
            findings.Add(finding("refusal", "info t.img", $"qemu-img exit {qInfo.ExitCode}: {qInfo.Err.Trim()}\nqimg exit {ours.ExitCode}: {ours.Err.Trim()}"));
        }
        if (!qemuOpens)
        {
            // check -r all is the repair QEMU runs on images its normal open refuses; the hostile catalogue compares
            // its result with qemu-img's byte for byte.
            foreach (var c in FuzzCommands.Writing.Where(c => c.Args[0] != "check"))
            {
                File.WriteAllBytes(runner.ImagePath, image);
                runner.RunOne(c);
                if (!FuzzRunner.Holds(runner.ImagePath, image))
                {
                    findings.Add(finding("wrote-refused-image", c.ToString(), "changed an image qemu-img refuses to open: " + qInfo.Err.Trim()));
                }
            }
            return findings;
        }
        File.WriteAllBytes(runner.ImagePath, image);
        var q = Support.ToolProcess.Run("qemu-img", runner.Dir, "convert", "-O", "raw", "t.img", "q.raw");
        var m = runner.RunOne(new FuzzCommand("qimg", ["convert", "-O", "raw", "t.img", "m.raw"], false));
        string qraw = Path.Combine(runner.Dir, "q.raw"), mraw = Path.Combine(runner.Dir, "m.raw");
        if ((q.ExitCode == 0) != (m.ExitCode == 0))
        {
            findings.Add(finding("data", "convert -O raw", $"qemu-img exit {q.ExitCode}: {q.Err.Trim()}\nqimg exit {m.ExitCode}: {m.Err.Trim()}"));
        }
        else if (q.ExitCode == 0)
        {
            long ql = new FileInfo(qraw).Length, ml = new FileInfo(mraw).Length;
            if (ql != ml)
            {
                findings.Add(finding("data", "convert -O raw", $"raw lengths differ: QEMU {ql}, ours {ml}"));
            }
            else if (ql <= MaxCompared)
            {
                long at = Interop.InteropFixture.FirstDifference(File.ReadAllBytes(qraw), File.ReadAllBytes(mraw));
                if (at >= 0)
                {
                    findings.Add(finding("data", "convert -O raw", $"guest data differs from QEMU's at 0x{at:x}"));
                }
            }
        }
        File.Delete(qraw);
        File.Delete(mraw);
        return findings;
    }
}
