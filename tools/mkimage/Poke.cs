namespace Qcow2.Tools.Mkimage;

/// <summary>poke/peek by structure name, and poke-raw/peek-raw at a byte offset.</summary>
internal static class Poke
{
    /// <summary>Longest range peek-raw prints.</summary>
    private const int MaxPeekRaw = 1 << 20;

    /// <summary>poke NAME VALUE: writes VALUE into the named field or entry, leaving every other bit as it was.</summary>
    public static void PokeNamed(Func<ImageFile> open, string name, string valueText)
    {
        var path = StructurePath.Parse(name);
        var value = ParseNumber(valueText);
        using var file = open();
        var loc = StructureResolver.Resolve(file, path);
        ulong bits = HeaderCommands.ToBits(value, loc.Bits, name);
        var bytes = file.ReadExact(loc.Offset, loc.ByteCount, name);
        ulong word = BigEndian.Read(bytes);
        ulong mask = loc.Bits == 64 ? ulong.MaxValue : ((1UL << loc.Bits) - 1) << loc.Shift;
        word = (word & ~mask) | ((bits << loc.Shift) & mask);
        BigEndian.Write(bytes, word);
        file.Write(loc.Offset, bytes);
    }

    /// <summary>peek NAME: prints the named value in hex (0x...).</summary>
    public static void PeekNamed(Func<ImageFile> open, string name, TextWriter output)
    {
        var path = StructurePath.Parse(name);
        using var file = open();
        var loc = StructureResolver.Resolve(file, path);
        ulong word = BigEndian.Read(file.ReadExact(loc.Offset, loc.ByteCount, name));
        ulong value = loc.Bits == 64 ? word : (word >> loc.Shift) & ((1UL << loc.Bits) - 1);
        output.WriteLine(DumpHeader.Hex(value));
    }

    /// <summary>poke-raw OFFSET BYTES: writes printf-decoded bytes at a byte offset (the iotests' poke_file).</summary>
    public static void PokeRaw(Func<ImageFile> open, string offsetText, string format)
    {
        long offset = ParseOffset(offsetText, "offset");
        var bytes = PrintfBytes.Decode(format);
        using var file = open();
        file.Write(offset, bytes);
    }

    /// <summary>peek-raw OFFSET LEN: prints LEN bytes at OFFSET as one hex number, two digits per byte.</summary>
    public static void PeekRaw(Func<ImageFile> open, string offsetText, string lengthText, TextWriter output)
    {
        long offset = ParseOffset(offsetText, "offset");
        long length = ParseOffset(lengthText, "length");
        if (length < 1 || length > MaxPeekRaw)
        {
            throw new MkimageException($"peek-raw: length {length} must be between 1 and {MaxPeekRaw}");
        }
        using var file = open();
        var bytes = file.ReadExact(offset, length, "peek-raw: range");
        output.WriteLine("0x" + Convert.ToHexStringLower(bytes));
    }

    private static System.Numerics.BigInteger ParseNumber(string text) =>
        IntParser.TryParse(text, out var v) ? v : throw new MkimageException($"'{text}' is not a valid number");

    private static long ParseOffset(string text, string what)
    {
        var v = ParseNumber(text);
        if (v < 0 || v > long.MaxValue)
        {
            throw new MkimageException($"{what} {text} is out of range");
        }
        return (long)v;
    }
}
