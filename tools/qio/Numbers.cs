using System.Globalization;
using System.Numerics;

namespace Qcow2.Tools.Qio;

/// <summary>qemu-io's number parsing: cvtnum (qemu_strtosz with binary suffixes), pattern bytes and sleep times.</summary>
internal static class Numbers
{
    /// <summary>The largest request qemu-io accepts (BDRV_REQUEST_MAX_BYTES: INT_MAX rounded down to 512).</summary>
    public const long RequestMaxBytes = 0x7ffffe00;

    /// <summary>Parses a size as qemu-io's cvtnum does; returns the value or a negative errno (-EINVAL, -ERANGE).</summary>
    /// <param name="text">the argument</param>
    /// <param name="warnings">receives the deprecation warning for hex numbers with a suffix, if any</param>
    public static long Cvtnum(string text, List<string>? warnings = null)
    {
        int rc = StrToSz(text, out ulong value, warnings);
        if (rc < 0)
        {
            return rc;
        }
        return value > long.MaxValue ? -(long)Errno.ERANGE : (long)value;
    }

    /// <summary>The line qemu-io prints when cvtnum fails.</summary>
    public static string CvtnumError(long rc, string arg) => rc switch
    {
        -(long)Errno.EINVAL => $"Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- {arg}",
        -(long)Errno.ERANGE => $"Parsing error: argument too large -- {arg}",
        _ => $"Parsing error: {arg}",
    };

    private static ulong SuffixMultiplier(char c) => char.ToLowerInvariant(c) switch
    {
        'b' => 1,
        'k' => 1UL << 10,
        'm' => 1UL << 20,
        'g' => 1UL << 30,
        't' => 1UL << 40,
        'p' => 1UL << 50,
        'e' => 1UL << 60,
        _ => 0,
    };

    /// <summary>qemu_strtosz: decimal (optionally with a fraction) or hex integer, one optional binary suffix, nothing after.</summary>
    public static int StrToSz(string s, out ulong result, List<string>? warnings = null)
    {
        result = 0;
        int einval = -(int)Errno.EINVAL;
        int pos = 0;
        int rc = StrToU64(s, ref pos, 10, out ulong val);
        if (rc != 0)
        {
            return rc;
        }
        if (s.AsSpan(0, pos).Contains('-'))
        {
            return einval;
        }
        ulong fraction64 = 0;
        bool hex = false;
        if (val == 0 && pos < s.Length && (s[pos] == 'x' || s[pos] == 'X'))
        {
            pos = 0;
            rc = StrToU64(s, ref pos, 16, out val);
            if (rc != 0)
            {
                return rc;
            }
            if (pos < s.Length && (s[pos] == '.'))
            {
                return einval;
            }
            hex = true;
        }
        else if (pos < s.Length && s[pos] == '.')
        {
            int start = pos;
            int end = start + 1;
            while (end < s.Length && char.IsAsciiDigit(s[end]))
            {
                end++;
            }
            if (end == start + 1)
            {
                pos = start + 1;
            }
            else
            {
                if (end < s.Length && (s[end] == 'e' || s[end] == 'E') && end + 1 < s.Length &&
                    (char.IsAsciiDigit(s[end + 1]) || ((s[end + 1] == '+' || s[end + 1] == '-') && end + 2 < s.Length && char.IsAsciiDigit(s[end + 2]))))
                {
                    return einval;
                }
                double f = double.Parse("0" + s[start..end], CultureInfo.InvariantCulture);
                double scaled = f * 18446744073709551616.0;
                fraction64 = scaled >= 18446744073709551615.0 ? ulong.MaxValue : (ulong)scaled;
                pos = end;
            }
        }
        ulong mul = pos < s.Length ? SuffixMultiplier(s[pos]) : 0;
        if (mul > 0)
        {
            if (hex && mul > 1)
            {
                warnings?.Add($"Using a multiplier suffix on hex numbers is deprecated: {s}");
            }
            pos++;
        }
        else
        {
            mul = 1;
        }
        if (pos != s.Length)
        {
            return einval;
        }
        if (mul == 1)
        {
            if (fraction64 != 0)
            {
                return einval;
            }
            result = val;
            return 0;
        }
        UInt128 whole = (UInt128)val * mul;
        UInt128 frac = (UInt128)fraction64 * mul;
        whole += frac >> 64;
        whole += (ulong)frac >> 63;
        if (whole > ulong.MaxValue)
        {
            return -(int)Errno.ERANGE;
        }
        result = (ulong)whole;
        return 0;
    }

    /// <summary>strtoull-like parse at pos (leading white space and a sign allowed); -EINVAL without digits, -ERANGE on overflow.</summary>
    private static int StrToU64(string s, ref int pos, int radix, out ulong value)
    {
        value = 0;
        int p = pos;
        while (p < s.Length && (s[p] == ' ' || (s[p] >= '\t' && s[p] <= '\r')))
        {
            p++;
        }
        bool negative = false;
        if (p < s.Length && (s[p] == '+' || s[p] == '-'))
        {
            negative = s[p] == '-';
            p++;
        }
        if (radix == 16 && p + 1 < s.Length && s[p] == '0' && (s[p + 1] == 'x' || s[p + 1] == 'X') && p + 2 < s.Length && Uri.IsHexDigit(s[p + 2]))
        {
            p += 2;
        }
        int digitsStart = p;
        BigInteger acc = 0;
        while (p < s.Length)
        {
            int d = DigitValue(s[p]);
            if (d < 0 || d >= radix)
            {
                break;
            }
            acc = acc * radix + d;
            p++;
        }
        if (p == digitsStart)
        {
            return -(int)Errno.EINVAL;
        }
        pos = p;
        if (acc > ulong.MaxValue)
        {
            return -(int)Errno.ERANGE;
        }
        value = negative ? unchecked(0 - (ulong)acc) : (ulong)acc;
        return 0;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'z' => c - 'a' + 10,
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>strtol(arg, &amp;end, 0) as C does it: returns false when there is trailing text.</summary>
    public static bool StrToLong(string s, out long value)
    {
        value = 0;
        int p = 0;
        while (p < s.Length && (s[p] == ' ' || (s[p] >= '\t' && s[p] <= '\r')))
        {
            p++;
        }
        bool negative = false;
        if (p < s.Length && (s[p] == '+' || s[p] == '-'))
        {
            negative = s[p] == '-';
            p++;
        }
        int radix = 10;
        if (p < s.Length && s[p] == '0')
        {
            if (p + 2 < s.Length && (s[p + 1] == 'x' || s[p + 1] == 'X') && Uri.IsHexDigit(s[p + 2]))
            {
                radix = 16;
                p += 2;
            }
            else
            {
                radix = 8;
            }
        }
        int start = p;
        BigInteger acc = 0;
        while (p < s.Length)
        {
            int d = DigitValue(s[p]);
            if (d < 0 || d >= radix)
            {
                break;
            }
            acc = acc * radix + d;
            p++;
        }
        if (p == start && radix != 8)
        {
            // No digits at all: strtol returns 0 and leaves end at the start of the string.
            value = 0;
            return s.Length == 0;
        }
        if (negative)
        {
            acc = -acc;
        }
        value = acc > long.MaxValue ? long.MaxValue : acc < long.MinValue ? long.MinValue : (long)acc;
        return p == s.Length;
    }

    /// <summary>parse_pattern: a byte 0..255 written as strtol accepts it; null (after printing the error) otherwise.</summary>
    public static int? ParsePattern(string arg, TextWriter output)
    {
        if (!StrToLong(arg, out long v) || v < 0 || v > 255)
        {
            output.WriteLine($"{arg} is not a valid pattern byte");
            return null;
        }
        return (int)v;
    }
}
