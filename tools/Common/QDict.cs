using System.Globalization;
using System.Text;
using Qcow2.Overlap;

namespace Qcow2.Cli;

/// <summary>
/// A QAPI output dictionary as qemu builds it: entries are iterated in the order of qemu's QDict hash table
/// (bucket tdb_hash(key) % 512 ascending, the later insertion first within a bucket), which is the order in
/// which qemu-img prints JSON objects and the "Format specific information" section.
/// Values are string, long, bool, QDict or a list of values.
/// </summary>
public sealed class QDict
{
    private readonly List<KeyValuePair<string, object>> _inserted = [];

    /// <summary>Adds a member (in QAPI schema order, as qemu's visitor inserts it).</summary>
    public QDict Add(string key, object value)
    {
        _inserted.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a member when value is not null.</summary>
    public QDict AddIf(string key, object? value) => value is null ? this : Add(key, value);

    /// <summary>The members in qemu's iteration order.</summary>
    public IEnumerable<KeyValuePair<string, object>> Entries =>
        _inserted.Select((kv, i) => (kv, i)).OrderBy(t => Bucket(t.kv.Key)).ThenByDescending(t => t.i).Select(t => t.kv);

    /// <summary>Number of members.</summary>
    public int Count => _inserted.Count;

    /// <summary>qemu's tdb_hash of a key, reduced to a bucket (the engine's one copy).</summary>
    public static int Bucket(string key) => QemuOptionSyntax.QdictBucket(key);
}

/// <summary>qemu's JSON writer (qobject/json-writer.c): pretty (four-space indents) or compact (", " between members, as
/// qobject_to_json writes a json: file name), "key": value, \uXXXX escapes.</summary>
public static class QJson
{
    /// <summary>JSON null as a member value (a QNull, e.g. "backing": null).</summary>
    public static readonly object Null = new QNull();

    /// <summary>The pretty JSON text of a value (no trailing newline).</summary>
    public static string Pretty(object value)
    {
        var sb = new StringBuilder();
        Write(sb, value, 0);
        return sb.ToString();
    }

    /// <summary>The compact JSON text of a value (qobject_to_json): members separated by ", ".</summary>
    public static string Compact(object value)
    {
        var sb = new StringBuilder();
        Write(sb, value, -1);
        return sb.ToString();
    }

    /// <summary>A line break and indent in pretty mode (depth >= 0); a space in compact mode, except before a closing
    /// bracket.</summary>
    private static void Newline(StringBuilder sb, int depth, bool closing = false)
    {
        if (depth >= 0)
        {
            sb.Append('\n').Append(' ', depth * 4);
        }
        else if (!closing)
        {
            sb.Append(' ');
        }
    }

    private static int Deeper(int depth) => depth < 0 ? depth : depth + 1;

    private static void Write(StringBuilder sb, object value, int depth)
    {
        switch (value)
        {
            case QDict d:
                sb.Append('{');
                bool first = true;
                foreach (var kv in d.Entries)
                {
                    sb.Append(first ? "" : ",");
                    if (!first || depth >= 0)
                    {
                        Newline(sb, Deeper(depth));
                    }
                    first = false;
                    Quote(sb, kv.Key);
                    sb.Append(": ");
                    Write(sb, kv.Value, Deeper(depth));
                }
                if (!first)
                {
                    Newline(sb, depth, closing: true);
                }
                sb.Append('}');
                break;
            case IEnumerable<object> list:
                sb.Append('[');
                bool firstItem = true;
                foreach (object item in list)
                {
                    sb.Append(firstItem ? "" : ",");
                    if (!firstItem || depth >= 0)
                    {
                        Newline(sb, Deeper(depth));
                    }
                    firstItem = false;
                    Write(sb, item, Deeper(depth));
                }
                // json_writer_end_list breaks the line even for an empty list ("[" newline, indent, "]").
                Newline(sb, depth, closing: true);
                sb.Append(']');
                break;
            case string s:
                Quote(sb, s);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case QNull:
                sb.Append("null");
                break;
            case double f:
                sb.Append(f.ToString("R", CultureInfo.InvariantCulture));
                break;
            case long or int or ulong:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(value), value, "not a JSON value");
        }
    }

    /// <summary>A JSON string literal as qemu quotes it.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder();
        Quote(sb, s);
        return sb.ToString();
    }

    /// <summary>Appends a JSON string literal as qemu quotes it (json-writer.c's quoted_str).</summary>
    public static void Quote(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (Rune r in s.EnumerateRunes())
        {
            int cp = r.Value;
            switch (cp)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (cp > 0xFFFF)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\u{0xD800 + ((cp - 0x10000) >> 10):X4}\\u{0xDC00 + ((cp - 0x10000) & 0x3FF):X4}");
                    }
                    else if (cp < 0x20 || cp >= 0x7F)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\u{cp:X4}");
                    }
                    else
                    {
                        sb.Append((char)cp);
                    }
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>qemu's dump_qobject for the human "Format specific information" section (dashes in keys become spaces).</summary>
    public static void DumpHuman(StringBuilder sb, object value, int indent)
    {
        switch (value)
        {
            case QDict d:
                foreach (var kv in d.Entries)
                {
                    bool composite = kv.Value is QDict or IEnumerable<object>;
                    sb.Append(' ', indent * 4).Append(kv.Key.Replace('-', ' ')).Append(':').Append(composite ? '\n' : ' ');
                    DumpHuman(sb, kv.Value, indent + 1);
                }
                break;
            case IEnumerable<object> list:
                int i = 0;
                foreach (object item in list)
                {
                    bool composite = item is QDict or IEnumerable<object>;
                    sb.Append(' ', indent * 4).Append(CultureInfo.InvariantCulture, $"[{i}]:").Append(composite ? '\n' : ' ');
                    DumpHuman(sb, item, indent + 1);
                    i++;
                }
                break;
            case bool b:
                sb.Append(b ? "true" : "false").Append('\n');
                break;
            default:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append('\n');
                break;
        }
    }
}

/// <summary>The type of <see cref="QJson.Null"/>.</summary>
internal sealed class QNull;
