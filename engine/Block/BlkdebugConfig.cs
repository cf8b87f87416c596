using Qcow2.Overlap;

namespace Qcow2.Block;

/// <summary>
/// A blkdebug config file as QEMU's qemu_config_parse reads it: "[group]" or "[group "id"]" lines open a group,
/// "key = "value"" lines set an option of the current group (the first word is the key; a value not in quotes is
/// empty), '#' in the first column starts a comment. Values are type-checked as they are set, in file order.
/// </summary>
internal static class BlkdebugConfig
{
    private static readonly Dictionary<string, string[]> Numbers = new(StringComparer.Ordinal)
    {
        ["inject-error"] = ["state", "errno", "sector"],
        ["set-state"] = ["state", "new_state"],
    };

    private static readonly Dictionary<string, string[]> Others = new(StringComparer.Ordinal)
    {
        ["inject-error"] = ["event", "iotype", "once", "immediately"],
        ["set-state"] = ["event"],
    };

    /// <summary>The groups of the file in order, each with its options (the last value of a key wins).</summary>
    public static List<(string Group, Dictionary<string, string> Options)> Parse(string text)
    {
        var groups = new List<(string, Dictionary<string, string>)>();
        Dictionary<string, string>? current = null;
        string? group = null;
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            if (line[0] == '[' && GroupName(line) is { } name)
            {
                if (!Numbers.ContainsKey(name))
                {
                    throw new ImageOpenException($"There is no option group '{name}'");
                }
                group = name;
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                groups.Add((name, current));
                continue;
            }
            var (key, value) = KeyValue(line);
            if (key is null)
            {
                throw new ImageOpenException("parse error");
            }
            if (current is null)
            {
                throw new ImageOpenException("no group defined");
            }
            Set(group!, current, key, value);
        }
        return groups;
    }

    /// <summary>sscanf "[%63s \"%63[^\"]\"]" then "[%63[^]]]": the group's name (up to ']', a newline included), or null.</summary>
    private static string? GroupName(string line)
    {
        string rest = line[1..];
        int word = rest.IndexOfAny([' ', '\t', '\r', '\v', '\f']);
        if (word > 0 && rest[word..].TrimStart().StartsWith('"'))
        {
            return rest[..word];
        }
        int close = rest.IndexOf(']');
        string name = close < 0 ? rest + "\n" : rest[..close];
        return name.Length == 0 ? null : name;
    }

    /// <summary>sscanf " %63s = \"%1023[^\"]\"": the first word, and the quoted value when the line has one.</summary>
    private static (string? Key, string Value) KeyValue(string line)
    {
        string trimmed = line.TrimStart(' ', '\t', '\r', '\v', '\f');
        int end = trimmed.IndexOfAny([' ', '\t', '\r', '\v', '\f']);
        string key = end < 0 ? trimmed : trimmed[..end];
        if (key.Length == 0)
        {
            return (null, "");
        }
        string after = end < 0 ? "" : trimmed[end..].TrimStart(' ', '\t', '\r', '\v', '\f');
        if (!after.StartsWith('='))
        {
            return (key, "");
        }
        after = after[1..].TrimStart(' ', '\t', '\r', '\v', '\f');
        if (!after.StartsWith('"') || after.Length < 2 || after[1] == '"')
        {
            return (key, "");
        }
        int quote = after.IndexOf('"', 1);
        return (key, quote < 0 ? after[1..] : after[1..quote]);
    }

    /// <summary>qemu_opt_set: the key must be one of the group's, and its value of the key's type.</summary>
    private static void Set(string group, Dictionary<string, string> options, string key, string value)
    {
        if (Numbers[group].Contains(key))
        {
            BlockOptions.ParseNumber(key, value);
        }
        else if (!Others[group].Contains(key))
        {
            throw new ImageOpenException($"Invalid parameter '{key}'");
        }
        else if (key is "once" or "immediately")
        {
            QemuOptionSyntax.ParseBool(key, value);
        }
        options[key] = value;
    }
}
