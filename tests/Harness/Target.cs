using System.Text;
using Qcow2.Cli;

namespace Qcow2.Harness;

/// <summary>
/// A target: how each tool name of the scenario language is run, which capabilities it has, and which
/// program names its messages use (normalized to QEMU's so that one golden serves every target).
/// </summary>
internal sealed class Target
{
    /// <summary>Tool names a scenario may invoke.</summary>
    public static readonly IReadOnlyList<string> ToolNames = ["qimg", "qio", "mkimage"];

    /// <summary>The target's name (file stem).</summary>
    public required string Name { get; init; }

    /// <summary>One-line description.</summary>
    public string Description { get; init; } = "";

    /// <summary>Tool name to runner.</summary>
    public required IReadOnlyDictionary<string, IToolRunner> Tools { get; init; }

    /// <summary>Capabilities this target claims.</summary>
    public required IReadOnlySet<string> Capabilities { get; init; }

    /// <summary>Program-name prefixes rewritten at line starts, e.g. <c>qimg:</c> to <c>qemu-img:</c>.</summary>
    public required IReadOnlyDictionary<string, string> ProgramNames { get; init; }

    /// <summary>Why scenario cannot run on this target, or null.</summary>
    public string? WhyNotRun(Scenario scenario)
    {
        var missing = scenario.Requires.Where(r => !Capabilities.Contains(r)).ToList();
        if (missing.Count > 0)
        {
            return $"target {Name} lacks {string.Join(", ", missing)} (not in its 'capabilities:' line)";
        }

        foreach (var tool in scenario.ToolsUsed())
        {
            if (!Tools.TryGetValue(tool, out var runner))
            {
                return $"target {Name} has no '{tool}' line ('tool {tool}: COMMAND')";
            }

            if (runner.Unavailable is { } why)
            {
                return why;
            }
        }

        return null;
    }

    /// <summary>Rewrites the tool's own program name at line starts ("qio: ..." and qio's prompts "qio> ") to the QEMU name the goldens use.</summary>
    /// <summary>Whether text is empty or made only of the tools' prompts ("qio> "), so that what follows still begins a line.</summary>
    public bool IsOnlyPrompts(string text)
    {
        int at = 0;
        while (at < text.Length)
        {
            var prompt = ProgramNames.Keys.Select(from => from + "> ").FirstOrDefault(p => string.CompareOrdinal(text, at, p, 0, p.Length) == 0);
            if (prompt is null)
            {
                return false;
            }
            at += prompt.Length;
        }
        return true;
    }

    /// <summary>Rewrites program names (see <see cref="NormalizeProgramNames"/>).</summary>
    public string NormalizeProgramNames(string text)
    {
        if (ProgramNames.Count == 0 || text.Length == 0)
        {
            return text;
        }

        return Filters.MapLines(text, line =>
        {
            // qemu-io's prompt is "<prgname>> " and carries no newline, so several may start a line.
            var mapped = new System.Text.StringBuilder();
            int at = 0;
            bool again = true;
            while (again)
            {
                again = false;
                foreach (var (from, to) in ProgramNames)
                {
                    if (string.CompareOrdinal(line, at, from + "> ", 0, from.Length + 2) == 0)
                    {
                        mapped.Append(to).Append("> ");
                        at += from.Length + 2;
                        again = true;
                    }
                    else if (string.CompareOrdinal(line, at, from + ":", 0, from.Length + 1) == 0)
                    {
                        mapped.Append(to);
                        at += from.Length;
                    }
                }
            }

            mapped.Append(line, at, line.Length - at);
            foreach (var (from, to) in ProgramNames)
            {
                // qemu-img's usage errors name it inside the line too.
                mapped.Replace($"Try '{from} --help'", $"Try '{to} --help'");
            }

            return mapped.ToString();
        });
    }

    /// <summary>Loads tests/targets/NAME.target (or a path); placeholders {tooldir}, {bindir}, {root} and {exe} are substituted.</summary>
    public static Target Load(string pathOrName, string root, IReadOnlyDictionary<string, Func<string[], ToolContext, int>>? entryPoints = null, TimeSpan? timeout = null)
    {
        var path = File.Exists(pathOrName) ? pathOrName : Path.Combine(root, "tests", "targets", pathOrName + ".target");
        if (!File.Exists(path))
        {
            var known = Directory.Exists(Path.Combine(root, "tests", "targets"))
                ? string.Join(", ", Directory.GetFiles(Path.Combine(root, "tests", "targets"), "*.target").Select(Path.GetFileNameWithoutExtension).Order())
                : "";
            throw new FileNotFoundException($"no target '{pathOrName}' (known: {known})");
        }

        return Parse(File.ReadAllText(path), Path.GetFileNameWithoutExtension(path), root, entryPoints ?? InProcessRunner.Known, timeout ?? TimeSpan.FromSeconds(300));
    }

    /// <summary>Parses target file text.</summary>
    public static Target Parse(string text, string name, string root, IReadOnlyDictionary<string, Func<string[], ToolContext, int>> entryPoints, TimeSpan timeout)
    {
        var tools = new Dictionary<string, IToolRunner>(StringComparer.Ordinal);
        var caps = new HashSet<string>(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var description = "";
        var lineNo = 0;
        var usesToolDir = text.Contains("{tooldir}", StringComparison.Ordinal);
        foreach (var raw in text.Replace("\r", "", StringComparison.Ordinal).Split('\n'))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                throw new FormatException($"{name}.target:{lineNo}: expected 'key: value'");
            }

            var key = line[..colon].Trim();
            var value = Substitute(line[(colon + 1)..].Trim(), root);
            var keyWords = key.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (keyWords)
            {
                case ["description"]:
                    description = value;
                    break;
                case ["capabilities"]:
                    caps.UnionWith(value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries));
                    break;
                case ["tool", var tool] when ToolNames.Contains(tool):
                    var words = SplitCommandLine(value);
                    if (words is ["in-process", var entry])
                    {
                        tools[tool] = entryPoints.TryGetValue(entry, out var fn)
                            ? new InProcessRunner(entry, fn)
                            : throw new FormatException($"{name}.target:{lineNo}: unknown in-process entry point '{entry}' (known: {string.Join(", ", entryPoints.Keys)})");
                    }
                    else if (words.Count > 0)
                    {
                        tools[tool] = new ProcessRunner(words[0], words.Skip(1).ToList(), timeout);
                    }

                    break;
                case ["program-name", var from]:
                    names[from] = value;
                    break;
                default:
                    throw new FormatException($"{name}.target:{lineNo}: unknown key '{key}' (expected description, capabilities, tool NAME, program-name NAME)");
            }
        }

        if (usesToolDir && ToolDir.Resolve(root) is { Note: { } note })
        {
            description += $" ({note})";
        }

        return new Target { Name = name, Description = description, Tools = tools, Capabilities = caps, ProgramNames = names };
    }

    private static string Substitute(string value, string root) => value
        .Replace("{tooldir}", value.Contains("{tooldir}", StringComparison.Ordinal) ? ToolDir.Resolve(root).Directory : "", StringComparison.Ordinal)
        .Replace("{bindir}", ToolDir.BinDir, StringComparison.Ordinal)
        .Replace("{root}", root, StringComparison.Ordinal)
        .Replace("{exe}", OperatingSystem.IsWindows() ? ".exe" : "", StringComparison.Ordinal);

    /// <summary>Splits a command line at spaces, honouring double quotes.</summary>
    public static List<string> SplitCommandLine(string s)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        var inQuotes = false;
        var any = false;
        foreach (var c in s)
        {
            if (c == '"')
            {
                inQuotes = !inQuotes;
                any = true;
            }
            else if (c == ' ' && !inQuotes)
            {
                if (any)
                {
                    words.Add(sb.ToString());
                }

                sb.Clear();
                any = false;
            }
            else
            {
                sb.Append(c);
                any = true;
            }
        }

        if (any)
        {
            words.Add(sb.ToString());
        }

        return words;
    }
}
