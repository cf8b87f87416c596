using System.Globalization;

namespace Qcow2.Overlap;

/// <summary>QEMU 7.2's parsing of option values (booleans, sizes) and the order in which it validates option dictionaries.</summary>
/// <remarks>
/// QEMU validates the options of a driver while absorbing its QDict, so when several values are malformed the error names
/// the first one in QDict iteration order: buckets <c>tdb_hash(key) % 512</c> in ascending order; keys sharing a bucket
/// come in the order given (checked against qemu-io 7.2 with <c>overlap-check.active-l1</c> and <c>.active-l2</c>,
/// which share bucket 155).
/// </remarks>
public static class QemuOptionSyntax
{
    private const int QdictBuckets = 512;

    /// <summary>Parses a QEMU boolean (on/yes/true/y, off/no/false/n; case-sensitive) or throws QEMU's error.</summary>
    public static bool ParseBool(string name, string value) => value switch
    {
        "on" or "yes" or "true" or "y" => true,
        "off" or "no" or "false" or "n" => false,
        _ => throw new ImageOpenException($"Parameter '{name}' expects 'on' or 'off'"),
    };

    /// <summary>Parses a QEMU size (qemu_strtosz: decimal or 0x hex, optional fraction, optional B/k/M/G/T/P/E suffix in powers of 1024) or throws QEMU's error.</summary>
    public static ulong ParseSize(string name, string value)
    {
        switch (TryParseSize(value, out ulong size))
        {
            case SizeParse.Ok:
                return size;
            case SizeParse.OutOfRange:
                throw new ImageOpenException($"Value '{value}' is out of range for parameter '{name}'");
            default:
                throw new ImageOpenException(
                    $"Parameter '{name}' expects a non-negative number below 2^64\n"
                    + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.");
        }
    }

    /// <summary>The QDict bucket QEMU stores <paramref name="key"/> in (tdb_hash modulo 512).</summary>
    public static int QdictBucket(string key)
    {
        // QEMU's tdb_hash: seeded with the length, each byte shifted by (i * 5 % 24), then a linear congruential step.
        uint value = unchecked(0x238F13AFu * (uint)key.Length);
        for (int i = 0; i < key.Length; i++)
        {
            value = unchecked(value + ((uint)(byte)key[i] << (i * 5 % 24)));
        }

        return (int)(unchecked(1103515243u * value + 12345u) % QdictBuckets);
    }

    /// <summary>The keys in the order QEMU iterates its QDict: by bucket, then in the given order.</summary>
    public static IEnumerable<string> InQdictOrder(IEnumerable<string> keys) =>
        keys.Select((k, i) => (k, i)).OrderBy(p => QdictBucket(p.k)).ThenBy(p => p.i).Select(p => p.k);

    private enum SizeParse
    {
        Ok,
        Invalid,
        OutOfRange,
    }

    private static SizeParse TryParseSize(string s, out ulong result)
    {
        result = 0;
        int pos = 0;
        while (pos < s.Length && IsCSpace(s[pos]))
        {
            pos++;
        }

        if (pos < s.Length && s[pos] == '-')
        {
            return SizeParse.Invalid;
        }

        if (pos < s.Length && s[pos] == '+')
        {
            pos++;
        }

        int digitsStart = pos;

        // Integral part, decimal first (like strtoull base 10).
        var st = ScanDigits(s, ref pos, 10, out ulong val);
        if (st != SizeParse.Ok)
        {
            return st;
        }

        double fraction = 0;
        bool hex = false;
        if (val == 0 && pos < s.Length && (s[pos] == 'x' || s[pos] == 'X') && pos - digitsStart == 1)
        {
            pos++;
            int hexStart = pos;
            st = ScanDigits(s, ref pos, 16, out val);
            if (st == SizeParse.OutOfRange)
            {
                return st;
            }

            if (st != SizeParse.Ok)
            {
                // strtoull("0x", 16) consumes only the "0"; the 'x' is then trailing garbage.
                return SizeParse.Invalid;
            }

            if (pos < s.Length && s[pos] == '.')
            {
                return SizeParse.Invalid;
            }

            hex = pos > hexStart;
        }
        else if (pos < s.Length && s[pos] == '.')
        {
            // strtod on ".ddd" (an exponent makes the whole input invalid); a bare "." is skipped.
            int f = pos;
            int p = pos + 1;
            while (p < s.Length && char.IsAsciiDigit(s[p]))
            {
                p++;
            }

            if (p == pos + 1)
            {
                pos++;
            }
            else
            {
                int end = p;
                if (end < s.Length && (s[end] == 'e' || s[end] == 'E'))
                {
                    int q = end + 1;
                    if (q < s.Length && (s[q] == '+' || s[q] == '-'))
                    {
                        q++;
                    }

                    if (q < s.Length && char.IsAsciiDigit(s[q]))
                    {
                        return SizeParse.Invalid;
                    }
                }

                fraction = double.Parse(s.AsSpan(f, end - f), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
                pos = end;
            }
        }

        _ = hex; // QEMU 7.2 only warns (deprecation) about a suffix on hex numbers.
        ulong mul = pos < s.Length ? SuffixMultiplier(s[pos]) : 0;
        if (mul != 0)
        {
            pos++;
        }
        else
        {
            mul = 1;
        }

        if (pos != s.Length)
        {
            return SizeParse.Invalid;
        }

        if (mul == 1 && fraction != 0)
        {
            return SizeParse.Invalid;
        }

        ulong extra = (ulong)(fraction * mul);
        if (val > (ulong.MaxValue - extra) / mul)
        {
            return SizeParse.OutOfRange;
        }

        result = val * mul + extra;
        return SizeParse.Ok;
    }

    private static SizeParse ScanDigits(string s, ref int pos, int radix, out ulong value)
    {
        value = 0;
        int start = pos;
        bool overflow = false;
        while (pos < s.Length)
        {
            int d = DigitValue(s[pos]);
            if (d < 0 || d >= radix)
            {
                break;
            }

            if (value > (ulong.MaxValue - (ulong)d) / (ulong)radix)
            {
                overflow = true;
            }
            else
            {
                value = value * (ulong)radix + (ulong)d;
            }

            pos++;
        }

        if (pos == start)
        {
            return SizeParse.Invalid;
        }

        return overflow ? SizeParse.OutOfRange : SizeParse.Ok;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static ulong SuffixMultiplier(char c) => c switch
    {
        'b' or 'B' => 1UL,
        'k' or 'K' => 1UL << 10,
        'm' or 'M' => 1UL << 20,
        'g' or 'G' => 1UL << 30,
        't' or 'T' => 1UL << 40,
        'p' or 'P' => 1UL << 50,
        'e' or 'E' => 1UL << 60,
        _ => 0,
    };

    private static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
