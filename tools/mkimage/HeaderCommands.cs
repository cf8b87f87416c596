using System.Numerics;
using System.Text;

namespace Qcow2.Tools.Mkimage;

/// <summary>qcow2.py's header-editing commands: set-header, set-feature-bit, add-header-ext(-stdio), del-header-ext.</summary>
internal static class HeaderCommands
{
    /// <summary>set-header FIELD VALUE: VALUE as int(v, 0); the header area is then rewritten as qcow2.py does.</summary>
    public static void SetHeader(Func<ImageFile> open, string name, string valueText)
    {
        if (!IntParser.TryParse(valueText, out var value))
        {
            throw new Qcow2PyExitException($"'{valueText}' is not a valid number");
        }
        var field = HeaderFields.Find(name) ?? throw new Qcow2PyExitException($"'{name}' is not a known header field");
        using var file = open();
        var area = HeaderArea.Read(file);
        if (HeaderFields.IsV3Only(field) && area.Header.Version == 2)
        {
            throw new MkimageException(
                $"set-header: {name} is not stored in a version 2 header; image not changed " +
                $"(use poke header.{name} to write its bytes anyway)");
        }
        area.Header.Set(name, ToBits(value, field.Bits, name));
        area.Update(file);
    }

    /// <summary>set-feature-bit incompatible|compatible|autoclear BIT.</summary>
    public static void SetFeatureBit(Func<ImageFile> open, string group, string bitText)
    {
        if (!IntParser.TryParse(bitText, out var bit) || bit < 0 || bit >= 64)
        {
            throw new Qcow2PyExitException($"'{bitText}' is not a valid bit number in range [0, 64)");
        }
        using var file = open();
        var area = HeaderArea.Read(file);
        string field = group switch
        {
            "incompatible" => "incompatible_features",
            "compatible" => "compatible_features",
            "autoclear" => "autoclear_features",
            _ => throw new Qcow2PyExitException(
                $"'{group}' is not a valid group, try 'incompatible', 'compatible', or 'autoclear'"),
        };
        if (area.Header.Version == 2)
        {
            throw new MkimageException(
                "set-feature-bit: a version 2 header has no feature bits; image not changed " +
                $"(use poke header.{field} to write its bytes anyway)");
        }
        area.Header.Set(field, area.Header.Get(field) | (1UL << (int)bit));
        area.Update(file);
    }

    /// <summary>add-header-ext MAGIC DATA: appends an extension with the given bytes.</summary>
    public static void AddHeaderExt(Func<ImageFile> open, string magicText, string data)
    {
        uint magic = ParseMagic(magicText);
        using var file = open();
        var area = HeaderArea.Read(file);
        area.AddExtension(magic, Encoding.UTF8.GetBytes(data));
        area.Update(file);
    }

    /// <summary>del-header-ext MAGIC: removes every extension of that type; prints qcow2.py's line when there is none.</summary>
    public static void DelHeaderExt(Func<ImageFile> open, string magicText, TextWriter output)
    {
        uint magic = ParseMagic(magicText);
        using var file = open();
        var area = HeaderArea.Read(file);
        if (area.Extensions.RemoveAll(e => e.Magic == magic) == 0)
        {
            output.WriteLine("No such header extension");
            return;
        }
        area.Update(file);
    }

    /// <summary>Converts a parsed value to a field's raw bits, or fails naming the field.</summary>
    public static ulong ToBits(BigInteger value, int bits, string what)
    {
        if (!IntParser.TryToBits(value, bits, out var raw))
        {
            throw new MkimageException($"{what}: value {value} does not fit in {bits} bit{(bits == 1 ? "" : "s")}");
        }
        return raw;
    }

    private static uint ParseMagic(string text)
    {
        if (!IntParser.TryParse(text, out var magic))
        {
            throw new Qcow2PyExitException($"'{text}' is not a valid magic number");
        }
        return (uint)ToBits(magic, 32, "magic");
    }
}
