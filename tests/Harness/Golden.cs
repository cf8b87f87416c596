using DiffPlex.Renderer;

namespace Qcow2.Harness;

/// <summary>Golden comparison: CRLF to LF, trailing whitespace ignored; unified diffs through DiffPlex.</summary>
internal static class Golden
{
    /// <summary>Normalizes text for comparison and for writing goldens: LF line ends, no trailing blanks, one final newline.</summary>
    public static string Normalize(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines.Count == 0 ? "" : string.Join('\n', lines) + "\n";
    }

    /// <summary>Whether actual matches expected after normalization.</summary>
    public static bool Matches(string expected, string actual) => Normalize(expected) == Normalize(actual);

    /// <summary>A unified diff from expected (golden) to actual, with three lines of context.</summary>
    public static string UnifiedDiff(string expected, string actual, string expectedName, string actualName)
    {
        var diff = UnidiffRenderer.GenerateUnidiff(Normalize(expected), Normalize(actual), expectedName, actualName, false, false, 3);
        return diff.EndsWith('\n') ? diff : diff + "\n";
    }
}
