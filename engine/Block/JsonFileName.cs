using System.Globalization;
using System.Text;

namespace Qcow2.Block;

/// <summary>
/// QEMU's <c>json:{...}</c> pseudo-protocol: a file name that is a JSON object of block options. It is parsed as QEMU's
/// JSON parser reads it (single-quoted strings too), flattened into dotted options (<c>{"file":{"filename":"a"}}</c>
/// is <c>file.filename=a</c>, list items are numbered, true/false are on/off) and merged under the options given
/// explicitly, which win, as bdrv_fill_options does. Errors carry QEMU 7.2's texts.
/// </summary>
internal static class JsonFileName
{
    private const string Prefix = "json:";

    /// <summary>A "backing": null member as an option value: no backing file, which QEMU takes without the deprecation
    /// warning that the empty string ("backing": "", or backing= in --image-opts) gets.</summary>
    internal const string NullBacking = "\0null";

    /// <summary>Whether a file name is a json: one.</summary>
    public static bool Is(string fileName) => fileName.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>For a json: file name, moves its options into <paramref name="options"/> and returns the name of the image
    /// file it names (file.filename); other names are returned unchanged.</summary>
    public static string Apply(string fileName, OpenOptions options)
    {
        if (!Is(fileName))
        {
            return fileName;
        }
        var flat = new List<KeyValuePair<string, string>>();
        Flatten("", Parse(fileName[Prefix.Length..]), flat);
        string? driver = null, file = null, fileNode = null;
        // QEMU's QDict puts a new key at the head of its hash bucket, so of two keys sharing a bucket the later one comes
        // first when the options are checked; adding them in reverse keeps that order (QemuOptionSyntax.InQdictOrder).
        flat.Reverse();
        foreach (var (key, value) in flat)
        {
            switch (key)
            {
                case "driver":
                    driver = value;
                    break;
                case "file.filename":
                    file = value;
                    break;
                case "file":
                    fileNode = value;
                    break;
                case "file.driver" when value == "file":
                    break;
                // blkdebug's image child (or its x-image name) holds the image file's name.
                case "file.image.filename" or "file.x-image" when Blkdebug.ImageChild(flat, key):
                    file = value;
                    break;
                case "file.image.driver" when value == "file" && Blkdebug.ImageChild(flat, key):
                    break;
                default:
                    options.Options.TryAdd(key, value);
                    break;
            }
        }
        if (driver is not null)
        {
            options.Format ??= driver;
        }
        if (fileNode is not null)
        {
            throw new ImageOpenException($"Cannot find device='{fileNode}' nor node-name='{fileNode}'");
        }
        if (file is null && NodeOpener.Describes(options.Format, options.Options))
        {
            return "";
        }
        return file ?? throw new ImageOpenException(driver is null
            ? "Must specify either driver or file"
            : "A block device must be specified for \"file\"");
    }

    /// <summary>qdict_flatten: nested objects and lists become dotted keys; empty ones vanish. Values become option
    /// strings (true/false are on/off, numbers keep their text, null is empty).</summary>
    private static void Flatten(string prefix, object? value, List<KeyValuePair<string, string>> into)
    {
        var typed = new List<KeyValuePair<string, object?>>();
        FlattenTyped(prefix, value, typed);
        foreach (var (k, v) in typed)
        {
            into.Add(new(k, v switch
            {
                bool b => b ? "on" : "off",
                JsonNumber n => n.Text,
                null when k == "backing" || k.EndsWith(".backing", StringComparison.Ordinal) => NullBacking,
                _ => v as string ?? "",
            }));
        }
    }

    /// <summary>The options a json: file name holds, flattened as qdict_flatten does but with their JSON types kept (strings,
    /// booleans, null, and numbers as long or double), in the order the object lists them; null for other names.</summary>
    public static List<KeyValuePair<string, object?>>? TypedOptions(string fileName)
    {
        if (!Is(fileName))
        {
            return null;
        }
        var flat = new List<KeyValuePair<string, object?>>();
        FlattenTyped("", Parse(fileName[Prefix.Length..]), flat);
        return flat.ConvertAll(kv => kv.Value is JsonNumber n
            ? new KeyValuePair<string, object?>(kv.Key, long.TryParse(n.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)
                ? l : double.Parse(n.Text, CultureInfo.InvariantCulture))
            : kv);
    }

    private static void FlattenTyped(string prefix, object? value, List<KeyValuePair<string, object?>> into)
    {
        switch (value)
        {
            case List<KeyValuePair<string, object?>> obj:
                foreach (var (k, v) in obj)
                {
                    FlattenTyped(prefix + k + (v is List<KeyValuePair<string, object?>> or List<object?> ? "." : ""), v, into);
                }
                break;
            case List<object?> list:
                for (int i = 0; i < list.Count; i++)
                {
                    object? v = list[i];
                    FlattenTyped(prefix + i.ToString(CultureInfo.InvariantCulture) + (v is List<KeyValuePair<string, object?>> or List<object?> ? "." : ""), v, into);
                }
                break;
            default:
                into.Add(new(prefix, value));
                break;
        }
    }

    /// <summary>A JSON number as it was written (qemu keeps it a QNum, unlike a quoted string).</summary>
    private sealed record JsonNumber(string Text);

    /// <summary>Parses the text after "json:" into objects (lists of pairs), lists, strings (numbers keep their text),
    /// booleans and null; the top level must be an object.</summary>
    private static List<KeyValuePair<string, object?>> Parse(string text)
    {
        var p = new Parser(text);
        p.SkipSpace();
        if (p.AtEnd)
        {
            throw Fail("Expecting a JSON value");
        }
        object? value = p.Value();
        p.SkipSpace();
        if (!p.AtEnd)
        {
            throw Fail("Expecting at most one JSON value");
        }
        return value as List<KeyValuePair<string, object?>> ?? throw new ImageOpenException("Invalid JSON object given");
    }

    private static ImageOpenException Fail(string message) => new($"Could not parse the JSON options: {message}");

    private static ImageOpenException ParseError(string what) => Fail($"JSON parse error, {what}");

    /// <summary>A recursive-descent reader of QEMU's JSON dialect.</summary>
    private sealed class Parser(string s)
    {
        private int _at;

        public bool AtEnd => _at >= s.Length;

        public void SkipSpace()
        {
            while (!AtEnd && s[_at] is ' ' or '\t' or '\n' or '\r')
            {
                _at++;
            }
        }

        public object? Value()
        {
            SkipSpace();
            if (AtEnd)
            {
                throw ParseError("premature EOI");
            }
            char c = s[_at];
            return c switch
            {
                '{' => Object(),
                '[' => List(),
                '"' or '\'' => String(),
                _ when c == '-' || char.IsAsciiDigit(c) => Number(),
                _ when char.IsAsciiLetter(c) => Keyword(),
                '}' or ']' or ',' or ':' => throw ParseError("expecting value"),
                _ => throw ParseError($"stray '{Token()}'"),
            };
        }

        private List<KeyValuePair<string, object?>> Object()
        {
            _at++;
            var pairs = new List<KeyValuePair<string, object?>>();
            SkipSpace();
            if (!AtEnd && s[_at] == '}')
            {
                _at++;
                return pairs;
            }
            while (true)
            {
                SkipSpace();
                if (AtEnd)
                {
                    throw ParseError("premature EOI");
                }
                if (s[_at] is not ('"' or '\''))
                {
                    if (char.IsAsciiLetter(s[_at]) && Token() is not ("true" or "false" or "null"))
                    {
                        throw ParseError($"invalid keyword '{Token()}'");
                    }
                    throw s[_at] == '}' ? ParseError("expecting value") : ParseError("key is not a string in object");
                }
                string key = String();
                SkipSpace();
                Expect(':', "missing : in object pair");
                pairs.Add(new(key, Value()));
                if (Separator('}', "expected separator in dict"))
                {
                    return pairs;
                }
            }
        }

        private List<object?> List()
        {
            _at++;
            var items = new List<object?>();
            SkipSpace();
            if (!AtEnd && s[_at] == ']')
            {
                _at++;
                return items;
            }
            while (true)
            {
                items.Add(Value());
                if (Separator(']', "expected separator in list"))
                {
                    return items;
                }
            }
        }

        /// <summary>After an item: true at the closing bracket, false after a comma.</summary>
        private bool Separator(char close, string error)
        {
            SkipSpace();
            if (AtEnd)
            {
                throw ParseError("premature EOI");
            }
            if (s[_at] == close)
            {
                _at++;
                return true;
            }
            Expect(',', error);
            return false;
        }

        private void Expect(char c, string error)
        {
            if (AtEnd)
            {
                throw ParseError("premature EOI");
            }
            if (s[_at] != c)
            {
                throw ParseError(error);
            }
            _at++;
        }

        private string String()
        {
            int start = _at;
            char quote = s[_at++];
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd)
                {
                    throw ParseError($"stray '{s[start..]}'");
                }
                char c = s[_at++];
                if (c == quote)
                {
                    return sb.ToString();
                }
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                char e = AtEnd ? '\0' : s[_at++];
                switch (e)
                {
                    case '"' or '\'' or '\\' or '/': sb.Append(e); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u' when _at + 4 <= s.Length && int.TryParse(s.AsSpan(_at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int u):
                        sb.Append((char)u);
                        _at += 4;
                        break;
                    default:
                        throw ParseError("invalid escape sequence in string");
                }
            }
        }

        /// <summary>A JSON number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), kept as its text.</summary>
        private JsonNumber Number()
        {
            int start = _at;
            string token = Token();
            int i = token.StartsWith('-') ? 1 : 0;
            bool ok = i < token.Length && !(token[i] == '0' && i + 1 < token.Length && char.IsAsciiDigit(token[i + 1]))
                && double.TryParse(token, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                    CultureInfo.InvariantCulture, out _);
            if (!ok)
            {
                throw ParseError($"stray '{token}'");
            }
            _at = start + token.Length;
            return new JsonNumber(token);
        }

        private object? Keyword()
        {
            string word = Token();
            _at += word.Length;
            return word switch
            {
                "true" => true,
                "false" => false,
                "null" => null,
                _ => throw ParseError($"invalid keyword '{word}'"),
            };
        }

        /// <summary>The run of letters, digits and number characters from here (what QEMU's lexer reports).</summary>
        private string Token()
        {
            int end = _at;
            while (end < s.Length && (char.IsAsciiLetterOrDigit(s[end]) || s[end] is '.' or '+' or '-'))
            {
                end++;
            }
            return end > _at ? s[_at..end] : s[_at].ToString();
        }
    }
}
