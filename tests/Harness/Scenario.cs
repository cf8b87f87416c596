namespace Qcow2.Harness;

/// <summary>A parsed scenario script: its identity, header metadata and body.</summary>
internal sealed record Scenario(
    string Stem,
    string ScriptPath,
    string GoldenPath,
    string Description,
    IReadOnlyList<string> Groups,
    IReadOnlyList<string> Requires,
    IReadOnlyList<Statement> Body,
    string? ParseError)
{
    /// <summary>The three-digit number that starts the stem.</summary>
    public string Number => Stem[..3];

    /// <summary>Whether a golden output exists for this scenario.</summary>
    public bool HasGolden => File.Exists(GoldenPath);

    /// <summary>Tool names the body runs (directly or through helpers), for availability checks.</summary>
    public IEnumerable<string> ToolsUsed()
    {
        var used = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var p in Body.SelectMany(s => s.Descendants()).OfType<Pipeline>())
        {
            foreach (var c in p.Commands)
            {
                if (Builtins.ToolOf(c.Name) is { } tool)
                {
                    used.Add(tool);
                }
            }
        }

        return used;
    }
}
