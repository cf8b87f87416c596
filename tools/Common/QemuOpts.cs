using Qcow2.Options;

namespace Qcow2.Cli;

/// <summary>The value type of a QemuOpts option.</summary>
public enum OptType
{
    /// <summary>Free text.</summary>
    String,

    /// <summary>on/off (also yes/no, true/false, y/n).</summary>
    Bool,

    /// <summary>An unsigned 64-bit number in C notation (decimal, 0x hex, 0 octal).</summary>
    Number,

    /// <summary>A byte count with an optional k/M/G/T/P/E suffix.</summary>
    Size,
}

/// <summary>One accepted option: name, type, help text and the default qemu prints when it is not set.</summary>
public sealed record OptDesc(string Name, OptType Type, string Help, string? Default = null);

/// <summary>One option as given: its name, the text, and the parsed number or flag.</summary>
public sealed record OptValue(string Name, string Text, ulong Number, bool Flag);

/// <summary>
/// A QemuOpts list (util/qemu-option.c): options parsed from "name=value,name2=value2" with ",," standing for a
/// comma, each checked against its description as it is parsed; the last setting of a name wins.
/// </summary>
public sealed class QemuOpts
{
    private readonly List<OptValue> _values = [];

    /// <summary>Creates an empty list over the given descriptions (in qemu's print order).</summary>
    public QemuOpts(IReadOnlyList<OptDesc> descs) => Descs = descs;

    /// <summary>Where warnings of the number parsers go (qemu's warn_report); null drops them.</summary>
    public Action<string>? Warn { get; set; }

    /// <summary>The accepted options in the order qemu prints them.</summary>
    public IReadOnlyList<OptDesc> Descs { get; }

    /// <summary>Whether the text is a help request ("help" or "?").</summary>
    public static bool IsHelp(string s) => s is "help" or "?";

    /// <summary>qemu's has_help_option: whether any comma-separated element of the list is exactly a help request.</summary>
    public static bool HasHelpOption(string list)
    {
        int p = 0;
        while (p < list.Length)
        {
            p = OptionString.ReadValue(list, p, out string value);
            if (p < list.Length)
            {
                p++;
            }
            if (IsHelp(value))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>qemu-img's is_valid_option_list: not empty, no leading comma, no unpaired trailing comma.</summary>
    public static bool IsValidOptionList(string list)
    {
        if (list.Length == 0 || list[0] == ',')
        {
            return false;
        }
        int i = list.Length;
        while (i > 0 && list[i - 1] == ',')
        {
            i--;
        }
        return (list.Length - i) % 2 == 0;
    }

    /// <summary>Parses an option list into this set (qemu_opts_do_parse without an implied name; "id" is skipped); throws on the first bad option.</summary>
    public void Parse(string list)
    {
        foreach (var (name, value) in OptionString.Split(list))
        {
            if (name != "id")
            {
                Set(name, value);
            }
        }
    }

    /// <summary>Sets an option from its text, validating it as qemu's opt_validate does.</summary>
    public void Set(string name, string text)
    {
        OptDesc desc = Descs.FirstOrDefault(d => d.Name == name)
            ?? throw new ToolException($"Invalid parameter '{name}'");
        ulong number = 0;
        bool flag = false;
        switch (desc.Type)
        {
            case OptType.Bool:
                flag = Qcow2.Overlap.QemuOptionSyntax.TryParseBool(text)
                    ?? throw new ToolException($"Parameter '{name}' expects 'on' or 'off'");
                break;
            case OptType.Number:
                switch (QemuNumbers.StrToU64(text, 0, out number))
                {
                    case QemuNumbers.Status.OutOfRange:
                        throw new ToolException($"Value '{text}' is too large for parameter '{name}'");
                    case QemuNumbers.Status.Invalid:
                        throw new ToolException($"Parameter '{name}' expects a number");
                }
                break;
            case OptType.Size:
                switch (QemuNumbers.StrToSize(text, out number, Warn))
                {
                    case QemuNumbers.Status.OutOfRange:
                        throw new ToolException($"Value '{text}' is out of range for parameter '{name}'");
                    case QemuNumbers.Status.Invalid:
                        throw new ToolException(
                            $"Parameter '{name}' expects a non-negative number below 2^64",
                            "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.\n");
                }
                break;
        }
        _values.Add(new OptValue(name, text, number, flag));
    }

    /// <summary>Sets a number-like option from a value (qemu_opt_set_number).</summary>
    public void SetNumber(string name, long value) => _values.Add(new OptValue(name, value.ToString(System.Globalization.CultureInfo.InvariantCulture), (ulong)value, false));

    /// <summary>The last setting of name, or null.</summary>
    public OptValue? Get(string name) => _values.LastOrDefault(v => v.Name == name);

    /// <summary>Whether name was set.</summary>
    public bool Has(string name) => Get(name) is not null;

    /// <summary>The text of name, or null.</summary>
    public string? GetString(string name) => Get(name)?.Text;

    /// <summary>qemu_opts_print: each set option (or its default) in description order, separated by spaces, commas doubled in text.</summary>
    public string Print()
    {
        var parts = new List<string>();
        foreach (OptDesc d in Descs)
        {
            OptValue? v = Get(d.Name);
            string? text = v?.Text ?? d.Default;
            if (text is null)
            {
                continue;
            }
            if (d.Type == OptType.String)
            {
                parts.Add($"{d.Name}={text.Replace(",", ",,", StringComparison.Ordinal)}");
            }
            else if (d.Type is OptType.Size or OptType.Number && v is not null)
            {
                parts.Add($"{d.Name}={(long)v.Number}");
            }
            else
            {
                parts.Add($"{d.Name}={text}");
            }
        }
        return string.Join(' ', parts);
    }

    /// <summary>qemu_opts_print_help: one line per option, `  name=&lt;type&gt;` padded to 24 columns, then the help, sorted.</summary>
    public static IEnumerable<string> HelpLines(IEnumerable<OptDesc> descs)
    {
        var lines = new List<string>();
        foreach (OptDesc d in descs)
        {
            string type = d.Type switch
            {
                OptType.String => "str",
                OptType.Bool => "bool (on/off)",
                OptType.Number => "num",
                _ => "size",
            };
            string line = $"  {d.Name}=<{type}>";
            lines.Add(line.PadRight(24) + " - " + d.Help);
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }
}
