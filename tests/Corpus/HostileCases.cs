using Qcow2.Corpus.Hostile;

namespace Qcow2.Corpus;

/// <summary>
/// The hostile images of the shared catalogue (Hostile/HostileCatalogue.cs, after QEMU's iotest 080, 036 and the
/// CVEs of its class), built by this project's own tools instead of QEMU's. A row is n_ when QEMU 7.2 refuses to read
/// it (qemu-img convert fails) and i_ when QEMU reads it: the sidecars, made by QEMU, check the split.
/// </summary>
public static class HostileCases
{
    /// <summary>The catalogue rows that QEMU 7.2's qemu-img convert reads (so the case is i_, not n_).</summary>
    public static readonly HashSet<string> ReadByQemu =
    [
        "backing_file_offset-inside-header",
        "bitmaps-extension-without-autoclear-bit",
        "corrupt-bit",
        "dirty-bit-v3",
        "extended-l2-bit",
        "fuzz-l2-entry-1GiB-freed-by-discard",
        "header_length-104",
        "header_length-65536-whole-cluster",
        "l1_size-max-4Mi-entries",
        "l2-offset-1TiB-past-eof",
        "l2-reserved-bits-and-huge-offset",
        "refcount_table-entry-2^63",
        "refcount_table-max-8MiB",
        "size-0",
        "snapshot-extra-data-too-small",
        "snapshot-l1-offset-misaligned",
        "snapshot-l1-size-too-large",
        "snapshots-65536-at-16M-then-snapshot-c",
        "snapshots-65536-past-eof",
        "truncated-before-l1",
        "truncated-header-only",
        "unknown-autoclear-bit",
        "version-2-with-v3-fields",
    ];

    /// <summary>Every hostile case.</summary>
    public static IEnumerable<CorpusCase> All() =>
        HostileCatalogue.All.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
            new CorpusCase((ReadByQemu.Contains(kv.Key) ? "i_hostile_" : "n_hostile_") + kv.Key, b => Build(b, kv.Value)));

    private static void Build(CaseBuilder b, HostileImage h)
    {
        if (h.Contents is not null)
        {
            File.WriteAllBytes(b.ImagePath, h.Contents);
            return;
        }
        string[] o = h.Options.Length == 0 ? [] : ["-o", h.Options];
        b.Img(["create", "-q", "-f", "qcow2", .. o, "{img}", h.Size]);
        foreach (var step in h.Before)
        {
            b.Step([.. step.Select(a => a == "t.img" ? "{img}" : a)]);
        }
        foreach (var p in h.Pokes(b.ImagePath).ToList())
        {
            b.Poke(p.Offset, p.Data);
        }
        if (h.TruncateTo is long len)
        {
            using var f = new FileStream(b.ImagePath, FileMode.Open, FileAccess.Write);
            f.SetLength(len);
        }
    }
}
