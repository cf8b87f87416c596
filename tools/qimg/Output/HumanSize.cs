using System.Globalization;
using System.Numerics;
using System.Text;

namespace Qcow2.Tools.Qimg;

/// <summary>qemu's size_to_str ("196 KiB", "64 MiB", "0.977 KiB") with C's "%0.3g" rounding (exact value, ties to even).</summary>
public static class HumanSize
{
    private static readonly string[] Suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

    /// <summary>Formats a byte count the way qemu-img info prints sizes.</summary>
    public static string Format(ulong val)
    {
        // frexp(val / (1000.0 / 1024.0)) gives the binary exponent; each power of 1024 takes over from 1000 units on.
        double scaled = val / (1000.0 / 1024.0);
        int exp = scaled == 0 ? 0 : Math.ILogB(scaled) + 1;
        int i = (exp - 1) / 10;
        if (i < 0)
        {
            i = 0;
        }
        double d = (double)val;
        return FormatG(d, i * 10, 3) + " " + Suffixes[i] + "B";
    }

    /// <summary>C printf "%.{precision}g" of value / 2^shift, computed on the exact binary value.</summary>
    public static string FormatG(double value, int shift, int precision)
    {
        if (value == 0)
        {
            return "0";
        }
        // Exact rational num / den of value / 2^shift.
        long bits = BitConverter.DoubleToInt64Bits(value);
        int rawExp = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (rawExp == 0)
        {
            rawExp = 1;
        }
        else
        {
            mantissa |= 1L << 52;
        }
        int e2 = rawExp - 1075 - shift;
        BigInteger num = mantissa;
        BigInteger den = BigInteger.One;
        if (e2 >= 0)
        {
            num <<= e2;
        }
        else
        {
            den <<= -e2;
        }
        // Decimal exponent X with 10^X <= v < 10^(X+1).
        int x = (int)Math.Floor(BigInteger.Log10(num) - BigInteger.Log10(den));
        while (Compare(num, den, x) < 0)
        {
            x--;
        }
        while (Compare(num, den, x + 1) >= 0)
        {
            x++;
        }
        // Round v * 10^(precision-1-x) to an integer, ties to even.
        BigInteger digits = RoundScaled(num, den, precision - 1 - x);
        if (digits >= BigInteger.Pow(10, precision))
        {
            x++;
            digits = RoundScaled(num, den, precision - 1 - x);
        }
        string ds = digits.ToString(CultureInfo.InvariantCulture).PadLeft(precision, '0');
        if (x < -4 || x >= precision)
        {
            string mant = ds[..1];
            string frac = ds[1..].TrimEnd('0');
            if (frac.Length > 0)
            {
                mant += "." + frac;
            }
            return mant + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
        }
        var sb = new StringBuilder();
        if (x >= 0)
        {
            sb.Append(ds[..(x + 1)]);
            string frac = ds[(x + 1)..].TrimEnd('0');
            if (frac.Length > 0)
            {
                sb.Append('.').Append(frac);
            }
        }
        else
        {
            string frac = (new string('0', -x - 1) + ds).TrimEnd('0');
            sb.Append("0.").Append(frac);
        }
        return sb.ToString();
    }

    private static int Compare(BigInteger num, BigInteger den, int x)
    {
        // Compares num/den with 10^x.
        return x >= 0 ? num.CompareTo(den * BigInteger.Pow(10, x)) : (num * BigInteger.Pow(10, -x)).CompareTo(den);
    }

    private static BigInteger RoundScaled(BigInteger num, BigInteger den, int scale)
    {
        if (scale >= 0)
        {
            num *= BigInteger.Pow(10, scale);
        }
        else
        {
            den *= BigInteger.Pow(10, -scale);
        }
        BigInteger q = BigInteger.DivRem(num, den, out BigInteger r);
        int c = (r * 2).CompareTo(den);
        if (c > 0 || (c == 0 && !q.IsEven))
        {
            q += 1;
        }
        return q;
    }
}
