namespace Qcow2.Tools.Qimg;

/// <summary>What one qimg convert command line asks for (qemu-img's img_convert locals and ImgConvertState settings).</summary>
public sealed class ConvertRequest
{
    /// <summary>-f: source format, or null to probe.</summary>
    public string? Format { get; set; }

    /// <summary>-O: output format (raw unless given or --target-image-opts).</summary>
    public string? OutFormat { get; set; }

    /// <summary>-B: backing file of the target.</summary>
    public string? BackingFile { get; set; }

    /// <summary>-F: format of the target's backing file.</summary>
    public string? BackingFormat { get; set; }

    /// <summary>-o: accumulated create options.</summary>
    public string? Options { get; set; }

    /// <summary>-l in its old form: a snapshot id or name.</summary>
    public string? SnapshotName { get; set; }

    /// <summary>-l snapshot.id=...,snapshot.name=...: the id and name given (either may be null).</summary>
    public (string? Id, string? Name)? SnapshotOpts { get; set; }

    /// <summary>-S in sectors (default 8, 4 KiB).</summary>
    public int MinSparse { get; set; } = 8;

    /// <summary>Whether -S was given.</summary>
    public bool ExplicitMinSparse { get; set; }

    /// <summary>-t: target cache mode.</summary>
    public string Cache { get; set; } = "unsafe";

    /// <summary>-T: source cache mode.</summary>
    public string SourceCache { get; set; } = "writeback";

    /// <summary>-m: requests in flight; with -c the clusters compressed ahead of the write (qimg otherwise copies on one thread).</summary>
    public int Coroutines { get; set; } = 8;

    /// <summary>Writes in order (cleared by -W; qimg always writes in order, which -W allows, so its output never varies).</summary>
    public bool InOrder { get; set; } = true;

    /// <summary>-C: copy offloading (accepted; qimg copies through its buffer, the fallback qemu uses).</summary>
    public bool CopyRange { get; set; }

    /// <summary>-c: compressed output.</summary>
    public bool Compressed { get; set; }

    /// <summary>-p: progress meter.</summary>
    public bool Progress { get; set; }

    /// <summary>-q: quiet.</summary>
    public bool Quiet { get; set; }

    /// <summary>-n: the target exists; do not create it.</summary>
    public bool SkipCreate { get; set; }

    /// <summary>-U: open the sources without locks.</summary>
    public bool ForceShare { get; set; }

    /// <summary>--image-opts for the sources.</summary>
    public bool ImageOpts { get; set; }

    /// <summary>--target-image-opts.</summary>
    public bool TargetImageOpts { get; set; }

    /// <summary>--salvage: read errors become zeros with a warning.</summary>
    public bool Salvage { get; set; }

    /// <summary>--target-is-zero.</summary>
    public bool TargetIsZero { get; set; }

    /// <summary>--bitmaps.</summary>
    public bool Bitmaps { get; set; }

    /// <summary>--skip-broken-bitmaps.</summary>
    public bool SkipBrokenBitmaps { get; set; }
}
