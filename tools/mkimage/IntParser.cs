using System.Numerics;

namespace Qcow2.Tools.Mkimage;

/// <summary>Parses integers the way Python's int(text, 0) does, which is how qcow2.py reads its arguments.</summary>
internal static class IntParser
{
    /// <summary>Parses decimal, 0x hex, 0o octal or 0b binary with an optional sign and single underscores between digits.</summary>
    public static bool TryParse(string text, out BigInteger value)
    {
        value = BigInteger.Zero;
        var s = text.Trim();
        bool negative = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        int radix = 10;
        bool prefixed = false;
        if (s.Length >= 2 && s[0] == '0')
        {
            radix = char.ToLowerInvariant(s[1]) switch { 'x' => 16, 'o' => 8, 'b' => 2, _ => 10 };
            if (radix != 10)
            {
                s = s[2..];
                prefixed = true;
            }
        }
        if (!TryDigits(s, radix, allowLeadingUnderscore: prefixed, out var magnitude))
        {
            return false;
        }
        // Python refuses a decimal literal with a leading zero unless the whole number is zero ("010").
        if (radix == 10 && s.Length > 1 && s[0] == '0' && !magnitude.IsZero)
        {
            return false;
        }
        value = negative ? -magnitude : magnitude;
        return true;
    }

    /// <summary>Converts a parsed value to the raw bits of a field of the given width; negative values are stored in two's complement.</summary>
    public static bool TryToBits(BigInteger value, int widthBits, out ulong bits)
    {
        bits = 0;
        var limit = BigInteger.One << widthBits;
        if (value >= limit || value < -(limit >> 1))
        {
            return false;
        }
        if (value.Sign < 0)
        {
            value += limit;
        }
        bits = (ulong)value;
        return true;
    }

    private static bool TryDigits(string s, int radix, bool allowLeadingUnderscore, out BigInteger value)
    {
        value = BigInteger.Zero;
        if (s.Length == 0)
        {
            return false;
        }
        bool lastWasDigit = false;
        bool anyDigit = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '_')
            {
                bool okHere = lastWasDigit || (i == 0 && allowLeadingUnderscore);
                if (!okHere || i == s.Length - 1)
                {
                    return false;
                }
                lastWasDigit = false;
                continue;
            }
            int d = DigitValue(c);
            if (d < 0 || d >= radix)
            {
                return false;
            }
            value = value * radix + d;
            lastWasDigit = true;
            anyDigit = true;
        }
        return anyDigit;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
