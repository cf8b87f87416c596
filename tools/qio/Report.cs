using System.Globalization;
using System.Text;

namespace Qcow2.Tools.Qio;

/// <summary>qemu-io's output formats: sizes (cvtstr), times (timestr), the two report lines and the -v hex dump.</summary>
internal static class Report
{
    private static readonly (int Shift, string Suffix)[] Units =
    [
        (60, " EiB"), (50, " PiB"), (40, " TiB"), (30, " GiB"), (20, " MiB"), (10, " KiB"),
    ];

    /// <summary>printf("%.Nf") for a double, with glibc's spelling of infinities and NaN.</summary>
    public static string FormatFixed(double value, int decimals)
    {
        if (double.IsNaN(value))
        {
            // x86 produces a NaN with the sign bit set for 0.0/0.0, which glibc prints as "-nan".
            return BitConverter.DoubleToInt64Bits(value) < 0 ? "-nan" : "nan";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>cvtstr: "512 bytes", "64 KiB", "1.500 KiB".</summary>
    public static string SizeString(double value)
    {
        foreach (var (shift, unitSuffix) in Units)
        {
            double unit = Math.Pow(2, shift);
            if (value >= unit)
            {
                return Trim(FormatFixed(value / unit, 3), unitSuffix);
            }
        }
        return Trim(FormatFixed(value, 6), " bytes");
    }

    private static string Trim(string text, string suffix)
    {
        int at = text.IndexOf(".000", StringComparison.Ordinal);
        return at >= 0 ? text[..at] + suffix : text + suffix;
    }

    /// <summary>timestr: "00.00 sec" below one second, else H:MM:SS.ss; verbose (-C) always H:MM:SS.ss.</summary>
    public static string TimeString(TimeSpan elapsed, bool verbose)
    {
        long ticks = elapsed.Ticks;
        long seconds = ticks / TimeSpan.TicksPerSecond;
        double frac = (ticks % TimeSpan.TicksPerSecond) / (double)TimeSpan.TicksPerSecond;
        string secondsText = FormatFixed((seconds % 60) + frac, 2).PadLeft(5, '0');
        if (verbose || seconds != 0)
        {
            return $"{(uint)(seconds / 3600)}:{(uint)(seconds % 3600 / 60):00}:{secondsText}";
        }
        return FormatFixed(frac, 2).PadLeft(5, '0') + " sec";
    }

    private static double PerSecond(double value, TimeSpan elapsed) => value / (elapsed.Ticks / (double)TimeSpan.TicksPerSecond);

    /// <summary>print_report: the two statistics lines (or the -C comma-separated line) after a request.</summary>
    public static void Print(TextWriter o, string op, TimeSpan elapsed, long offset, long count, long total, int ops, bool machine)
    {
        string ts = TimeString(elapsed, machine);
        if (!machine)
        {
            o.WriteLine($"{op} {total}/{count} bytes at offset {offset}");
            o.WriteLine($"{SizeString(total)}, {ops} ops; {ts} ({SizeString(PerSecond(total, elapsed))}/sec and {FormatFixed(PerSecond(ops, elapsed), 4)} ops/sec)");
        }
        else
        {
            o.WriteLine($"{total},{ops},{ts},{FormatFixed(PerSecond(total, elapsed), 3)},{FormatFixed(PerSecond(ops, elapsed), 3)}");
        }
    }

    /// <summary>dump_buffer: 16 bytes a line, hex then the alphanumeric characters.</summary>
    public static void Dump(TextWriter o, ReadOnlySpan<byte> buffer, long offset)
    {
        var line = new StringBuilder();
        for (int i = 0; i < buffer.Length; i += 16)
        {
            line.Clear();
            line.Append((offset + i).ToString("x8", CultureInfo.InvariantCulture)).Append(":  ");
            int n = Math.Min(16, buffer.Length - i);
            for (int j = 0; j < n; j++)
            {
                line.Append(buffer[i + j].ToString("x2", CultureInfo.InvariantCulture)).Append(' ');
            }
            line.Append(' ');
            for (int j = 0; j < n; j++)
            {
                char c = (char)buffer[i + j];
                line.Append(char.IsAsciiLetterOrDigit(c) ? c : '.');
            }
            o.WriteLine(line.ToString());
        }
    }
}
