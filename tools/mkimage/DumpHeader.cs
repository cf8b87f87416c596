using System.Text;
using Qcow2.Format;

namespace Qcow2.Tools.Mkimage;

/// <summary>dump-header and dump-header-exts in the text format of QEMU's iotests qcow2.py.</summary>
internal static class DumpHeader
{
    /// <summary>Names qcow2.py gives the extension types it knows.</summary>
    private static readonly Dictionary<uint, string> ExtensionNames = new()
    {
        [HeaderExtension.BackingFormat] = "Backing format",
        [HeaderExtension.FeatureTable] = "Feature table",
        [HeaderExtension.CryptoHeader] = "Crypto header",
        [HeaderExtension.Bitmaps] = "Bitmaps",
        [HeaderExtension.DataFile] = "Data file",
    };

    /// <summary>Prints the header fields, a blank line, then every extension.</summary>
    public static void Header(ImageFile file, TextWriter o)
    {
        var area = HeaderArea.Read(file);
        var text = new StringWriter { NewLine = "\n" };
        foreach (var f in HeaderFields.Qcow2Py)
        {
            Line(text, f.Name, FormatValue(f, area.Header.Get(f.Name)));
        }
        text.WriteLine();
        WriteExtensions(file, area, text);
        o.Write(text.ToString());
    }

    /// <summary>Prints only the extensions.</summary>
    public static void Extensions(ImageFile file, TextWriter o)
    {
        var area = HeaderArea.Read(file);
        var text = new StringWriter { NewLine = "\n" };
        WriteExtensions(file, area, text);
        o.Write(text.ToString());
    }

    /// <summary>A value as qcow2.py prints it for the field's display form.</summary>
    public static string FormatValue(FieldSpec f, ulong v) => f.Display switch
    {
        FieldDisplay.Hex => Hex(v),
        FieldDisplay.BitList => BitList(v),
        _ => v.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Python's "{:#x}".</summary>
    public static string Hex(ulong v) => "0x" + v.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Python's str() of the list of set bit numbers.</summary>
    public static string BitList(ulong v)
    {
        var bits = Enumerable.Range(0, 64).Where(b => (v & (1UL << b)) != 0);
        return "[" + string.Join(", ", bits) + "]";
    }

    /// <summary>The extension's data as qcow2.py shows it: quoted when every byte is printable ASCII, else &lt;binary&gt;.</summary>
    public static string DataString(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            if (!IsPythonPrintable(b))
            {
                return "<binary>";
            }
        }
        return "'" + Encoding.ASCII.GetString(data) + "'";
    }

    private static void WriteExtensions(ImageFile file, HeaderArea area, TextWriter o)
    {
        // Parse everything before printing, as qcow2.py does, so that a broken extension prints nothing half-way.
        var bitmaps = area.Extensions.ToDictionary(
            e => e, e => e.Magic == HeaderExtension.Bitmaps ? BitmapsExtension.Read(file, e) : null);
        foreach (var ex in area.Extensions)
        {
            o.WriteLine("Header extension:");
            string name = ExtensionNames.TryGetValue(ex.Magic, out var n) ? n : "<unknown>";
            Line(o, "magic", $"{Hex(ex.Magic)} ({name})");
            Line(o, "length", ex.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (bitmaps[ex] is { } bm)
            {
                WriteBitmaps(bm, area.Header.ClusterSize, o);
            }
            else
            {
                Line(o, "data", DataString(ex.Payload));
            }
            o.WriteLine();
        }
    }

    private static void WriteBitmaps(BitmapsExtension bm, ulong clusterSize, TextWriter o)
    {
        Line(o, "nb_bitmaps", bm.NbBitmaps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Line(o, "reserved32", bm.Reserved32.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Line(o, "bitmap_directory_size", Hex(bm.DirectorySize));
        Line(o, "bitmap_directory_offset", Hex(bm.DirectoryOffset));
        foreach (var e in bm.Directory)
        {
            o.WriteLine();
            Line(o, "Bitmap name", e.Name);
            Line(o, "bitmap_table_offset", Hex(e.BitmapTableOffset));
            Line(o, "bitmap_table_size", $"{e.BitmapTableSize}");
            Line(o, "flags", BitmapsExtension.FormatFlags(e.Flags));
            Line(o, "type", $"{e.Type}");
            Line(o, "granularity_bits", $"{e.GranularityBits}");
            Line(o, "name_size", $"{e.NameSize}");
            Line(o, "extra_data_size", $"{e.ExtraDataSize}");
            o.WriteLine($"{"Bitmap table",-14} {"type",-15} {"size",-12} offset");
            for (int i = 0; i < e.Table.Length; i++)
            {
                var t = e.Table[i];
                ulong size = t.Type == "serialized" ? clusterSize : 0;
                o.WriteLine($"{i,-14} {t.Type,-15} {size,-12} {t.Offset}");
            }
        }
    }

    private static void Line(TextWriter o, string name, string value) => o.WriteLine($"{name,-25} {value}");

    /// <summary>Python's string.printable: digits, letters, punctuation and the whitespace " \t\n\r\v\f".</summary>
    private static bool IsPythonPrintable(byte b) => (b >= 0x20 && b < 0x7f) || (b >= 0x09 && b <= 0x0d);
}
