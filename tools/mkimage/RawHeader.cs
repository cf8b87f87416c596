using Qcow2.Format;

namespace Qcow2.Tools.Mkimage;

/// <summary>
/// The header as qcow2.py sees it: the first 104 bytes read as the v3 field list whatever the version,
/// with the v3 fields replaced by their defaults (no features, refcount_order 4, header_length 72) when version is 2.
/// </summary>
internal sealed class RawHeader
{
    private readonly ulong[] _values = new ulong[HeaderFields.Qcow2Py.Length];

    /// <summary>Reads the header fields from the start of the file (zeros past its end).</summary>
    public static RawHeader Read(ImageFile file)
    {
        var bytes = file.ReadPadded(0, HeaderFields.PackedLength);
        var h = new RawHeader();
        for (int i = 0; i < HeaderFields.Qcow2Py.Length; i++)
        {
            var f = HeaderFields.Qcow2Py[i];
            h._values[i] = BigEndian.Read(bytes.AsSpan(f.Offset, f.Size));
        }
        if (h.Version == 2)
        {
            h.Set("incompatible_features", 0);
            h.Set("compatible_features", 0);
            h.Set("autoclear_features", 0);
            h.Set("refcount_order", 4);
            h.Set("header_length", Header.V2Length);
        }
        return h;
    }

    /// <summary>The value of a field by its qcow2.py name.</summary>
    public ulong Get(string name) => _values[IndexOf(name)];

    /// <summary>Sets a field by its qcow2.py name.</summary>
    public void Set(string name, ulong value) => _values[IndexOf(name)] = value;

    /// <summary>The header version field.</summary>
    public ulong Version => Get("version");

    /// <summary>Where the backing file name is stored (0 = none).</summary>
    public ulong BackingFileOffset => Get("backing_file_offset");

    /// <summary>Where the header extensions start.</summary>
    public ulong HeaderLength => Get("header_length");

    /// <summary>1 &lt;&lt; cluster_bits, saturated at ulong.MaxValue for absurd cluster_bits.</summary>
    public ulong ClusterSize => Get("cluster_bits") >= 64 ? ulong.MaxValue : 1UL << (int)Get("cluster_bits");

    /// <summary>All fields packed big-endian in qcow2.py's layout (104 bytes).</summary>
    public byte[] Pack()
    {
        var b = new byte[HeaderFields.PackedLength];
        for (int i = 0; i < HeaderFields.Qcow2Py.Length; i++)
        {
            var f = HeaderFields.Qcow2Py[i];
            BigEndian.Write(b.AsSpan(f.Offset, f.Size), _values[i]);
        }
        return b;
    }

    private static int IndexOf(string name)
    {
        int i = Array.FindIndex(HeaderFields.Qcow2Py, f => f.Name == name);
        return i >= 0 ? i : throw new ArgumentOutOfRangeException(nameof(name), name, "not a header field");
    }
}
