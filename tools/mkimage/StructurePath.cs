using System.Text.RegularExpressions;

namespace Qcow2.Tools.Mkimage;

/// <summary>Which structure a name addresses.</summary>
internal enum StructureKind
{
    /// <summary>header.FIELD</summary>
    Header,

    /// <summary>l1[i]</summary>
    L1,

    /// <summary>l2[i][j], or l2[i][j].bitmap (the subcluster bitmap of an extended entry)</summary>
    L2,

    /// <summary>refcount_table[i]</summary>
    RefcountTable,

    /// <summary>refcount_block[i][j]</summary>
    RefcountBlock,

    /// <summary>snapshot[i].FIELD</summary>
    Snapshot,
}

/// <summary>A parsed structure name such as l2[0][3] or snapshot[1].l1_table_offset.</summary>
internal sealed record StructurePath(string Text, StructureKind Kind, long I = 0, long J = 0, string Field = "")
{
    private static readonly Regex Grammar = new(
        @"^(?:header\.(?<hf>\w+)|l1\[(?<i>[^\]]+)\]|l2\[(?<i>[^\]]+)\]\[(?<j>[^\]]+)\](?:\.(?<lf>bitmap))?|refcount_table\[(?<i>[^\]]+)\]" +
        @"|refcount_block\[(?<i>[^\]]+)\]\[(?<j>[^\]]+)\]|snapshot\[(?<i>[^\]]+)\]\.(?<sf>\w+))$",
        RegexOptions.CultureInvariant);

    /// <summary>The forms accepted, for error messages.</summary>
    public const string Forms =
        "header.FIELD, l1[i], l2[i][j], l2[i][j].bitmap, refcount_table[i], refcount_block[i][j] or snapshot[i].FIELD";

    /// <summary>Parses a structure name, or fails with a message listing the accepted forms.</summary>
    public static StructurePath Parse(string text)
    {
        var m = Grammar.Match(text);
        if (!m.Success)
        {
            throw new MkimageException($"'{text}' is not a structure name (expected {Forms})");
        }
        long i = m.Groups["i"].Success ? Index(text, m.Groups["i"].Value) : 0;
        long j = m.Groups["j"].Success ? Index(text, m.Groups["j"].Value) : 0;
        StructureKind kind = text switch
        {
            _ when m.Groups["hf"].Success => StructureKind.Header,
            _ when m.Groups["sf"].Success => StructureKind.Snapshot,
            _ when text.StartsWith("l1[", StringComparison.Ordinal) => StructureKind.L1,
            _ when text.StartsWith("l2[", StringComparison.Ordinal) => StructureKind.L2,
            _ when text.StartsWith("refcount_table[", StringComparison.Ordinal) => StructureKind.RefcountTable,
            _ => StructureKind.RefcountBlock,
        };
        string field = m.Groups["hf"].Success ? m.Groups["hf"].Value : m.Groups["lf"].Success ? m.Groups["lf"].Value : m.Groups["sf"].Value;
        return new StructurePath(text, kind, i, j, field);
    }

    private static long Index(string text, string s)
    {
        if (!IntParser.TryParse(s, out var v) || v < 0 || v > long.MaxValue)
        {
            throw new MkimageException($"{text}: '{s}' is not a valid index");
        }
        return (long)v;
    }
}
