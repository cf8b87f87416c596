using System.Text;

namespace Qcow2.Cli;

/// <summary>
/// QEMU's "key=value,key2=value2" option strings (util/qemu-option.c, get_opt_name_value): ",," in a value stands for
/// a comma; a bare "key" is the short form of key=on ("nokey" of key=off), or, for the first element when the list
/// has an implied key, that key's value. The one splitter under <see cref="QemuOpts"/>, qemu-io's -o and --image-opts.
/// </summary>
public static class OptionString
{
    /// <summary>Reads one value up to an unescaped comma (",," is a literal comma); returns the index of that comma or the end.</summary>
    public static int ReadValue(string s, int start, out string value)
    {
        var sb = new StringBuilder();
        int i = start;
        while (i < s.Length)
        {
            if (s[i] == ',')
            {
                if (i + 1 < s.Length && s[i + 1] == ',')
                {
                    sb.Append(',');
                    i += 2;
                    continue;
                }
                break;
            }
            sb.Append(s[i]);
            i++;
        }
        value = sb.ToString();
        return i;
    }

    /// <summary>
    /// Splits a list into (name, value) pairs in order. impliedKey names the first element when it has no '=';
    /// flagWarning, when given, receives QEMU's deprecation warning (one or two lines) for each short-form boolean.
    /// </summary>
    public static List<KeyValuePair<string, string>> Split(string list, string? impliedKey = null, Action<string>? flagWarning = null)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        int p = 0;
        while (p < list.Length)
        {
            int len = 0;
            while (p + len < list.Length && list[p + len] != '=' && list[p + len] != ',')
            {
                len++;
            }
            string name;
            string value;
            if (p + len < list.Length && list[p + len] == '=')
            {
                name = list.Substring(p, len);
                p = ReadValue(list, p + len + 1, out value);
            }
            else if (impliedKey is not null)
            {
                name = impliedKey;
                p = ReadValue(list, p, out value);
            }
            else
            {
                name = list.Substring(p, len);
                p += len;
                (name, value) = ShortFormBoolean(name, flagWarning);
            }
            impliedKey = null;
            if (p < list.Length)
            {
                p++;
            }
            pairs.Add(new(name, value));
        }
        return pairs;
    }

    private static (string Name, string Value) ShortFormBoolean(string name, Action<string>? flagWarning)
    {
        string prefix = name.StartsWith("no", StringComparison.Ordinal) ? "no" : "";
        name = name[prefix.Length..];
        string value = prefix.Length > 0 ? "off" : "on";
        if (flagWarning is not null && (prefix.Length > 0 || !QemuOpts.IsHelp(name)))
        {
            string instead = name == "delay" ? $"nodelay={(prefix.Length > 0 ? "on" : "off")}" : $"{name}={value}";
            flagWarning($"short-form boolean option '{prefix}{name}' deprecated\nPlease use {instead} instead");
        }
        return (name, value);
    }

    /// <summary>
    /// qemu_opts_parse as qemu-io's -o uses it: adds the options of text to options (short-form booleans warned about
    /// in warnings); returns an error message (nothing added) or null.
    /// </summary>
    public static string? Parse(string text, List<KeyValuePair<string, string>> options, List<string> warnings)
    {
        var parsed = Split(text, null, warnings.Add);
        if (parsed.Any(kv => kv.Key == "id"))
        {
            return "Invalid parameter 'id'";
        }
        options.AddRange(parsed);
        return null;
    }

    /// <summary>The options as a dictionary, later values replacing earlier ones (as qemu_opts_to_qdict does).</summary>
    public static Dictionary<string, string> ToDictionary(IEnumerable<KeyValuePair<string, string>> options)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in options)
        {
            d[k] = v;
        }
        return d;
    }
}
