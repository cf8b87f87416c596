using System.Text;
using Qcow2.Format;

namespace Qcow2;

// The message for unknown incompatible feature bits, as qcow2_do_open builds it: a first pass of
// qcow2_read_extensions with no error reporting collects the feature name table, then
// report_unsupported_feature names each bit the table knows.
public sealed partial class Qcow2Image
{
    /// <summary>Bytes of a feature table entry's name field (the entry's size less its type and bit bytes).</summary>
    private const int FeatureNameSize = HeaderExtension.FeatureEntrySize - 2;

    /// <summary>ext_backing_format: QEMU's BlockDriverState holds the format name in 16 bytes with its NUL.</summary>
    private const int BackingFormatBytes = 16;

    /// <summary>The ENOTSUP open error for unknown incompatible feature bits (mask), with names from the image's table.</summary>
    private ImageOpenException UnsupportedFeatureError(byte[] cluster0, long extEnd, ulong mask) =>
        new(UnsupportedFeatures(FeatureTableBeforeFirstError(cluster0, extEnd), mask), Errno.ENOTSUP);

    /// <summary>
    /// The feature table QEMU's silent first pass ends up with: the last one read before the walk stops, which it does at
    /// the end marker, a malformed extension, a backing format name of 16 bytes or more, a bitmaps extension QEMU rejects,
    /// or a crypto header extension (QEMU would start LUKS decryption there; this engine has none, so it stops).
    /// </summary>
    private byte[]? FeatureTableBeforeFirstError(byte[] cluster0, long extEnd)
    {
        byte[]? table = null;
        foreach (var e in HeaderExtension.ParsePrefix(cluster0, (int)_header.HeaderLength, extEnd, out _))
        {
            bool stops = e.Type switch
            {
                HeaderExtension.BackingFormat => e.Data.Length >= BackingFormatBytes,
                HeaderExtension.CryptoHeader => true,
                HeaderExtension.Bitmaps => !BitmapsExtensionAccepted(e.Data),
                _ => false,
            };
            if (stops)
            {
                break;
            }
            if (e.Type == HeaderExtension.FeatureTable)
            {
                table = e.Data;
            }
        }
        return table;
    }

    private bool BitmapsExtensionAccepted(byte[] data)
    {
        try
        {
            ReadBitmapsExtension(data);
            return true;
        }
        catch (ImageOpenException)
        {
            return false;
        }
    }

    /// <summary>
    /// report_unsupported_feature: walks the table (read into zeroed memory two entries longer than the extension, so a
    /// short last entry is padded with zeros) until an entry whose name starts with NUL; names each incompatible entry
    /// whose bit is still in mask (the bit number is shifted modulo 64, as x86 does and C# does), then the bits left.
    /// </summary>
    private static string UnsupportedFeatures(byte[]? table, ulong mask)
    {
        var parts = new List<string>();
        var padded = new byte[(table?.Length ?? 0) + 2 * HeaderExtension.FeatureEntrySize];
        table?.CopyTo(padded, 0);
        for (int i = 0; table is not null && padded[i + 2] != 0; i += HeaderExtension.FeatureEntrySize)
        {
            byte type = padded[i], bit = padded[i + 1];
            if (type == Features.TypeIncompatible && (mask & (1UL << bit)) != 0)
            {
                var name = padded.AsSpan(i + 2, FeatureNameSize);
                int nul = name.IndexOf((byte)0);
                parts.Add(Encoding.UTF8.GetString(nul >= 0 ? name[..nul] : name));
                mask &= ~(1UL << bit);
            }
        }
        if (mask != 0)
        {
            parts.Add($"Unknown incompatible feature: {mask:x}");
        }
        return "Unsupported qcow2 feature(s): " + string.Join(", ", parts);
    }
}
