using System.Globalization;

namespace Qcow2.Options;

/// <summary>
/// QEMU 7.2's number parsers (util/cutils.c): strtoull/strtol as glibc does them, qemu_strtou64 and qemu_strtosz, with
/// the same accepted forms and errors. The one copy: the engine's option parsing, qimg, qio and mkimage all use it.
/// </summary>
public static class QemuNumbers
{
    /// <summary>Result of a parse: 0 on success, else a negative errno (-EINVAL or -ERANGE) as qemu returns it.</summary>
    public enum Status
    {
        /// <summary>Parsed.</summary>
        Ok = 0,

        /// <summary>Not a number in the accepted form (-EINVAL).</summary>
        Invalid = -22,

        /// <summary>Out of range (-ERANGE).</summary>
        OutOfRange = -34,
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'z' => c - 'a' + 10,
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => 99,
    };

    /// <summary>The start of C's strtol family: skips white space from i and reads an optional sign; true for '-'.</summary>
    private static bool SkipSpaceAndSign(string s, ref int i)
    {
        while (i < s.Length && IsSpace(s[i]))
        {
            i++;
        }
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            return s[i++] == '-';
        }
        return false;
    }

    /// <summary>C strtoull: returns the value and sets end to the index after the last character used (0 when nothing converted).</summary>
    public static ulong StrToULL(string s, int start, int numberBase, out int end, out bool overflow)
    {
        overflow = false;
        end = start;
        int i = start;
        bool negative = SkipSpaceAndSign(s, ref i);
        if ((numberBase == 0 || numberBase == 16) && i + 1 < s.Length && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')
            && i + 2 < s.Length && DigitValue(s[i + 2]) < 16)
        {
            i += 2;
            numberBase = 16;
        }
        else if (numberBase == 0)
        {
            numberBase = i < s.Length && s[i] == '0' ? 8 : 10;
        }
        ulong value = 0;
        int digitsStart = i;
        while (i < s.Length && DigitValue(s[i]) < numberBase)
        {
            ulong d = (ulong)DigitValue(s[i]);
            if (!overflow)
            {
                UInt128 next = (UInt128)value * (ulong)numberBase + d;
                if (next > ulong.MaxValue)
                {
                    overflow = true;
                }
                else
                {
                    value = (ulong)next;
                }
            }
            i++;
        }
        if (i == digitsStart)
        {
            return 0;
        }
        end = i;
        if (overflow)
        {
            return ulong.MaxValue;
        }
        return negative ? unchecked(0UL - value) : value;
    }

    /// <summary>qemu_strtou64 with a NULL end pointer: the whole string must be the number.</summary>
    public static Status StrToU64(string s, int numberBase, out ulong result)
    {
        result = StrToULL(s, 0, numberBase, out int end, out bool overflow);
        if (end == 0 && !overflow)
        {
            return Status.Invalid;
        }
        if (end < s.Length)
        {
            return Status.Invalid;
        }
        return overflow ? Status.OutOfRange : Status.Ok;
    }

    private static long SuffixMultiplier(char c) => char.ToUpperInvariant(c) switch
    {
        'B' => 1,
        'K' => 1L << 10,
        'M' => 1L << 20,
        'G' => 1L << 30,
        'T' => 1L << 40,
        'P' => 1L << 50,
        'E' => 1L << 60,
        _ => -1,
    };

    /// <summary>
    /// qemu_strtosz(value, NULL, &amp;result): a decimal or 0x-hex integer, an optional decimal fraction, and an
    /// optional suffix B, K, M, G, T, P or E (any case, powers of 1024); the fraction needs a suffix above B.
    /// </summary>
    public static Status StrToSize(string s, out ulong result, Action<string>? warn = null)
    {
        bool hex = false;
        result = 0;
        ulong val = StrToULL(s, 0, 10, out int end, out bool overflow);
        Status status;
        if (end == 0 && !overflow)
        {
            status = Status.Invalid;
            return status;
        }
        if (overflow)
        {
            return end < s.Length ? Status.Invalid : Status.OutOfRange;
        }
        if (s.AsSpan(0, end).Contains('-'))
        {
            return Status.Invalid;
        }
        ulong valf = 0;
        char at = end < s.Length ? s[end] : '\0';
        if (val == 0 && (at == 'x' || at == 'X'))
        {
            val = StrToULL(s, 0, 16, out end, out overflow);
            if (overflow)
            {
                return end < s.Length ? Status.Invalid : Status.OutOfRange;
            }
            at = end < s.Length ? s[end] : '\0';
            if (at == '.')
            {
                return Status.Invalid;
            }
            hex = true;
        }
        else if (at == '.' && !ParseFraction(s, ref end, out valf))
        {
            return Status.Invalid;
        }
        at = end < s.Length ? s[end] : '\0';
        long mul = SuffixMultiplier(at);
        if (mul > 0)
        {
            if (hex)
            {
                warn?.Invoke($"Using a multiplier suffix on hex numbers is deprecated: {s}");
            }
            end++;
        }
        else
        {
            mul = 1;
        }
        if (end < s.Length)
        {
            return Status.Invalid;
        }
        if (mul == 1)
        {
            if (valf != 0)
            {
                return Status.Invalid;
            }
        }
        else
        {
            // 64.64 fixed point times the multiplier, rounding half up, as qemu computes it.
            UInt128 integral = (UInt128)val * (ulong)mul;
            UInt128 fractional = (UInt128)valf * (ulong)mul;
            UInt128 total = integral + (fractional >> 64) + ((fractional >> 63) & 1);
            if (total > ulong.MaxValue)
            {
                return Status.OutOfRange;
            }
            val = (ulong)total;
        }
        result = val;
        return Status.Ok;
    }

    /// <summary>
    /// The decimal fraction after the dot at s[end], as qemu_strtosz reads it with strtod: a 0.64 fixed-point value,
    /// end moved past it; false when strtod would read an exponent, which qemu refuses.
    /// </summary>
    private static bool ParseFraction(string s, ref int end, out ulong valf)
    {
        valf = 0;
        int f = end;
        int i = f + 1;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }
        if (i == f + 1)
        {
            // strtod converts nothing from "." alone: skip the dot, fraction zero.
            end = f + 1;
            return true;
        }
        int j = i;
        if (j < s.Length && (s[j] == 'e' || s[j] == 'E'))
        {
            int k = j + 1;
            if (k < s.Length && (s[k] == '+' || s[k] == '-'))
            {
                k++;
            }
            if (k < s.Length && char.IsAsciiDigit(s[k]))
            {
                // strtod would take an exponent: qemu rejects the whole input.
                return false;
            }
        }
        double fraction = double.Parse("0" + s[f..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        // C's conversion of 2^64 (a fraction that rounds up to 1) yields 0 on x86-64.
        double scaled = fraction * 18446744073709551616.0;
        valf = scaled >= 18446744073709551616.0 ? 0 : (ulong)scaled;
        end = i;
        return true;
    }

    /// <summary>qemu_strtoi64 with base 0 over the whole text (what QEMU's QAPI visitors read an 'int' with).</summary>
    public static bool StrToI64(string text, out long value)
    {
        Status st = StrToU64(text, 0, out ulong u);
        value = (long)u;
        if (st != Status.Ok)
        {
            return false;
        }
        bool negative = text.TrimStart().StartsWith('-');
        // Out of the int64 range: positive above long.MaxValue, negative below long.MinValue.
        return negative ? value < 0 || value == 0 : value >= 0;
    }

    /// <summary>
    /// C strtol(s, &amp;end, 0) over the whole string: returns false when text is left over (or nothing converted from a
    /// non-empty string); value is clamped to long's range as strtol clamps it.
    /// </summary>
    public static bool StrToLong(string s, out long value)
    {
        value = 0;
        int p = 0;
        bool negative = SkipSpaceAndSign(s, ref p);
        int radix = 10;
        if (p < s.Length && s[p] == '0')
        {
            if (p + 2 < s.Length && (s[p + 1] == 'x' || s[p + 1] == 'X') && DigitValue(s[p + 2]) < 16)
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
        System.Numerics.BigInteger acc = 0;
        while (p < s.Length && DigitValue(s[p]) < radix)
        {
            acc = (acc * radix) + DigitValue(s[p]);
            p++;
        }
        if (p == start && radix != 8)
        {
            // No digits at all: strtol returns 0 and leaves end at the start of the string.
            return s.Length == 0;
        }
        if (negative)
        {
            acc = -acc;
        }
        value = acc > long.MaxValue ? long.MaxValue : acc < long.MinValue ? long.MinValue : (long)acc;
        return p == s.Length;
    }
}
