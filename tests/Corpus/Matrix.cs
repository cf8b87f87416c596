using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Qcow2.Corpus;

/// <summary>Writes the results as a Markdown matrix (JSONTestSuite style) and as JSON.</summary>
public static class Matrix
{
    private static readonly Outcome[] Failures = [.. Enum.GetValues<Outcome>().Where(o => o != Outcome.Pass)];

    /// <summary>"N passed, N failed" for one adapter.</summary>
    public static string Summary(IEnumerable<CaseResult> results, string adapter)
    {
        var mine = results.Where(r => r.Adapter == adapter).ToList();
        int pass = mine.Count(r => r.Outcome == Outcome.Pass);
        return $"{adapter}: {pass} passed, {mine.Count - pass} failed";
    }

    /// <summary>The Markdown page: counts per adapter and class, the findings, then every cell.</summary>
    public static string Markdown(IReadOnlyList<CaseResult> results, IReadOnlyList<string> adapters)
    {
        var sb = new StringBuilder();
        var cases = results.Select(r => r.Case).Distinct().ToList();
        sb.Append(cases.All(c => c[0] == 'w')
            ? string.Create(CultureInfo.InvariantCulture, $"{cases.Count} writer cases ({cases.Count(c => c.StartsWith("w_overlap_", StringComparison.Ordinal))} of them overlap cases).\n\n")
            : string.Create(CultureInfo.InvariantCulture, $"{cases.Count} cases ({cases.Count(c => c[0] == 'y')} y_, {cases.Count(c => c[0] == 'n')} n_, {cases.Count(c => c[0] == 'i')} i_).\n\n"));
        sb.Append("| adapter | pass | ").Append(string.Join(" | ", Failures.Select(f => f.Name()))).Append(" |\n");
        sb.Append("|---|---:|").Append(string.Concat(Failures.Select(_ => "---:|"))).Append('\n');
        foreach (var a in adapters)
        {
            var mine = results.Where(r => r.Adapter == a).ToList();
            sb.Append(CultureInfo.InvariantCulture, $"| {a} | {mine.Count(r => r.Outcome == Outcome.Pass)} | ");
            sb.Append(string.Join(" | ", Failures.Select(f => mine.Count(r => r.Outcome == f).ToString(CultureInfo.InvariantCulture)))).Append(" |\n");
        }
        sb.Append("\n## Findings\n\n");
        foreach (var a in adapters)
        {
            var bad = results.Where(r => r.Adapter == a && r.Outcome != Outcome.Pass).ToList();
            sb.Append(CultureInfo.InvariantCulture, $"### {a}\n\n");
            if (bad.Count == 0)
            {
                sb.Append("Every case passes.\n\n");
                continue;
            }
            foreach (var r in bad)
            {
                sb.Append(CultureInfo.InvariantCulture, $"- **{r.Outcome.Name()}** `{r.Case}`: {Cell(r.Detail)}\n");
            }
            sb.Append('\n');
        }
        sb.Append("## Every case\n\n");
        sb.Append("A cell is the class; i_ cells say whether the reader refused or accepted.\n\n");
        sb.Append("| case | ").Append(string.Join(" | ", adapters)).Append(" |\n|---|").Append(string.Concat(adapters.Select(_ => "---|"))).Append('\n');
        foreach (var c in cases)
        {
            sb.Append(CultureInfo.InvariantCulture, $"| `{c}` |");
            foreach (var a in adapters)
            {
                var r = results.First(x => x.Case == c && x.Adapter == a);
                string cell = r.Outcome != Outcome.Pass ? $"**{r.Outcome.Name()}**"
                    : c[0] != 'i' ? "pass" : r.Detail == "refused" ? "pass (refused)" : "pass (read)";
                sb.Append(' ').Append(cell).Append(" |");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The results as JSON: one object per cell.</summary>
    public static string Json(IReadOnlyList<CaseResult> results)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("case", r.Case);
                w.WriteString("adapter", r.Adapter);
                w.WriteString("outcome", r.Outcome.Name());
                w.WriteString("detail", r.Detail);
                w.WriteNumber("seconds", Math.Round(r.Seconds, 3));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
