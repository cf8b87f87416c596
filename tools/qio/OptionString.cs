namespace Qcow2.Tools.Qio;

/// <summary>
/// QEMU's "key=value,key2=value2" option strings (qemu_opts_parse): ",," in a value stands for a comma,
/// a bare "key" is the deprecated short form of key=on ("nokey" of key=off), the last of repeated keys wins.
/// </summary>
internal static class OptionString
{
    /// <summary>Parses text into options (added to or replacing those already there); returns an error message or null.</summary>
    /// <param name="text">the option string</param>
    /// <param name="options">receives the options in order</param>
    /// <param name="warnings">receives the deprecation warnings (each one or two lines, without the program prefix)</param>
    public static string? Parse(string text, List<KeyValuePair<string, string>> options, List<string> warnings)
    {
        int p = 0;
        var parsed = new List<KeyValuePair<string, string>>();
        while (p < text.Length)
        {
            int nameEnd = text.IndexOfAny(['=', ','], p);
            if (nameEnd < 0)
            {
                nameEnd = text.Length;
            }
            string name;
            string value;
            if (nameEnd >= text.Length || text[nameEnd] != '=')
            {
                name = text[p..nameEnd];
                p = nameEnd;
                string prefix = "";
                if (name.StartsWith("no", StringComparison.Ordinal))
                {
                    name = name[2..];
                    value = "off";
                    prefix = "no";
                }
                else
                {
                    value = "on";
                }
                if (name is not ("help" or "?") || prefix.Length > 0)
                {
                    warnings.Add($"short-form boolean option '{prefix}{name}' deprecated\nPlease use {name}={value} instead");
                }
            }
            else
            {
                name = text[p..nameEnd];
                p = nameEnd + 1;
                var sb = new System.Text.StringBuilder();
                while (p < text.Length)
                {
                    if (text[p] == ',')
                    {
                        if (p + 1 < text.Length && text[p + 1] == ',')
                        {
                            sb.Append(',');
                            p += 2;
                            continue;
                        }
                        break;
                    }
                    sb.Append(text[p++]);
                }
                value = sb.ToString();
            }
            if (p < text.Length && text[p] == ',')
            {
                p++;
            }
            if (name == "id")
            {
                return "Invalid parameter 'id'";
            }
            parsed.Add(new(name, value));
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
