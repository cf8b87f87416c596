using System.Buffers.Binary;
using System.Text;

namespace Qcow2.Block;

/// <summary>
/// What QEMU's bdrv_probe_all would make of an image's first sector: the format drivers' probes that look only at the
/// first 512 bytes (qcow, qcow2, qed, vmdk, vpc, vhdx, vdi, luks, parallels, bochs, cloop). Anything else is raw. Used for
/// the write restriction on block 0 of a probed raw image, where any answer but raw refuses the write.
/// </summary>
internal static class FormatSniffer
{
    /// <summary>Bytes the probes look at (BLOCK_PROBE_BUF_SIZE).</summary>
    public const int ProbeBytes = 512;

    private static readonly (string Format, int Offset, byte[] Magic)[] Magics =
    [
        ("qed", 0, "QED\0"u8.ToArray()),
        ("vmdk", 0, "KDMV"u8.ToArray()),
        ("vmdk", 0, "COWD"u8.ToArray()),
        ("vmdk", 0, "# Disk DescriptorFile"u8.ToArray()),
        ("vpc", 0, "conectix"u8.ToArray()),
        ("vhdx", 0, "vhdxfile"u8.ToArray()),
        ("vdi", 64, [0x7f, 0x10, 0xda, 0xbe]),
        ("luks", 0, [(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xba, 0xbe]),
        ("parallels", 0, "WithoutFreeSpace"u8.ToArray()),
        ("parallels", 0, "WithouFreSpacExt"u8.ToArray()),
        ("bochs", 0, "Bochs Virtual HD Image"u8.ToArray()),
        ("cloop", 0, Encoding.ASCII.GetBytes("#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n")),
    ];

    /// <summary>The format the first sector looks like ("raw" when no probe claims it).</summary>
    public static string Sniff(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 8 && BinaryPrimitives.ReadUInt32BigEndian(head) == Format.Header.Magic)
        {
            uint version = BinaryPrimitives.ReadUInt32BigEndian(head[4..]);
            if (version == 1)
            {
                return "qcow";
            }
            if (version >= 2)
            {
                return "qcow2";
            }
        }
        foreach (var (format, offset, magic) in Magics)
        {
            // qcrypto_block_luks_has_format also wants LUKS version 1.
            if (head.Length >= offset + magic.Length && head.Slice(offset, magic.Length).SequenceEqual(magic)
                && (format != "luks" || (head.Length >= 8 && BinaryPrimitives.ReadUInt16BigEndian(head[6..]) == 1)))
            {
                return format;
            }
        }
        return "raw";
    }
}
