using System.Text;

namespace Qcow2.Tools.Mkimage;

/// <summary>Decodes a printf format string without conversions into bytes, as the iotests' poke_file passes it to printf.</summary>
internal static class PrintfBytes
{
    /// <summary>Decodes \xHH (1-2 hex digits), \NNN (1-3 octal digits), the C escapes and %%; other text is UTF-8.</summary>
    public static byte[] Decode(string format)
    {
        var bytes = new List<byte>();
        var literal = new StringBuilder();
        void FlushLiteral()
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(literal.ToString()));
            literal.Clear();
        }
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '%')
            {
                if (i + 1 < format.Length && format[i + 1] == '%')
                {
                    literal.Append('%');
                    i++;
                    continue;
                }
                throw new MkimageException($"poke-raw: '{format}': printf conversions are not supported (write %% for a percent sign)");
            }
            if (c != '\\' || i + 1 >= format.Length)
            {
                literal.Append(c);
                continue;
            }
            char e = format[++i];
            if (e == 'x')
            {
                int n = CountDigits(format, i + 1, 2, 16);
                if (n == 0)
                {
                    throw new MkimageException($"poke-raw: '{format}': missing hex digit for \\x");
                }
                FlushLiteral();
                bytes.Add(Convert.ToByte(format.Substring(i + 1, n), 16));
                i += n;
                continue;
            }
            if (e >= '0' && e <= '7')
            {
                int n = CountDigits(format, i, 3, 8);
                FlushLiteral();
                bytes.Add((byte)Convert.ToInt32(format.Substring(i, n), 8));
                i += n - 1;
                continue;
            }
            char? simple = e switch
            {
                '\\' => '\\', 'a' => '\a', 'b' => '\b', 'e' => '\x1b', 'f' => '\f', 'n' => '\n', 'r' => '\r',
                't' => '\t', 'v' => '\v', '"' => '"', '\'' => '\'', '?' => '?',
                _ => null,
            };
            if (simple is { } s)
            {
                literal.Append(s);
            }
            else
            {
                // printf keeps an unknown escape as it is.
                literal.Append('\\').Append(e);
            }
        }
        FlushLiteral();
        return bytes.ToArray();
    }

    private static int CountDigits(string s, int from, int max, int radix)
    {
        int n = 0;
        while (n < max && from + n < s.Length && IsDigit(s[from + n], radix))
        {
            n++;
        }
        return n;
    }

    private static bool IsDigit(char c, int radix) => radix == 8
        ? c >= '0' && c <= '7'
        : Uri.IsHexDigit(c);
}
