namespace Qcow2.Tools.Mkimage;

/// <summary>Big-endian unsigned integers of 1 to 8 bytes, the encoding of every qcow2 field.</summary>
internal static class BigEndian
{
    /// <summary>Reads an unsigned big-endian integer of span.Length bytes (at most 8).</summary>
    public static ulong Read(ReadOnlySpan<byte> span)
    {
        ulong v = 0;
        foreach (byte b in span)
        {
            v = (v << 8) | b;
        }
        return v;
    }

    /// <summary>Writes value big-endian into span.Length bytes (at most 8), dropping higher bits.</summary>
    public static void Write(Span<byte> span, ulong value)
    {
        for (int i = span.Length - 1; i >= 0; i--)
        {
            span[i] = (byte)value;
            value >>= 8;
        }
    }
}
