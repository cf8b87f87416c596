namespace Qcow2.Corpus;

/// <summary>
/// One case of the corpus: its file name without extension (the prefix is the verdict rule: y_ must be read with
/// QEMU's content, n_ must be refused, i_ may go either way but must never return bytes that are not guest data)
/// and how the generator builds it.
/// </summary>
/// <param name="Name">case name, e.g. y_cluster_size_512</param>
/// <param name="Build">builds OUTDIR/NAME.qcow2 (and OUTDIR/NAME.d/ for its backing files)</param>
public sealed record CorpusCase(string Name, Action<CaseBuilder> Build)
{
    /// <summary>
    /// The secret a reader is given for an encrypted case (QEMU's encrypt.key-secret; the sidecar records it), or
    /// null. For an n_ case it may be the wrong one.
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>
    /// A case made by qemu-img create with these -o options (none when empty) and size, then the steps of then.
    /// </summary>
    public static CorpusCase Created(string name, string options, string size, Action<CaseBuilder> then) =>
        new(name, b =>
        {
            string[] o = options.Length == 0 ? [] : ["-o", options];
            b.Img(["create", "-q", "-f", "qcow2", .. o, "{img}", size]);
            then(b);
        });

    /// <summary>The verdict rule, from the prefix: 'y', 'n' or 'i'.</summary>
    public char Verdict => Name[0];

    /// <summary>The image's file name: NAME.qcow2.</summary>
    public string ImageFile => Name + ".qcow2";

    /// <summary>The folder of the case's other files (backing files): NAME.d.</summary>
    public string SideFolder => Name + ".d";
}
