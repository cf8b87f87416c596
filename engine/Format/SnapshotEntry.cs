using System.Buffers.Binary;
using System.Text;
using Qcow2.Snapshots;

namespace Qcow2.Format;

/// <summary>One snapshot table entry: a 40-byte fixed part, extra data, id and name, padded to 8 bytes.</summary>
public sealed class SnapshotEntry
{
    public const int L1TableOffsetOffset = 0;
    public const int L1SizeOffset = L1TableOffsetOffset + 8;
    public const int IdStrSizeOffset = L1SizeOffset + 4;
    public const int NameSizeOffset = IdStrSizeOffset + 2;
    public const int DateSecOffset = NameSizeOffset + 2;
    public const int DateNsecOffset = DateSecOffset + 4;
    public const int VmClockNsecOffset = DateNsecOffset + 4;
    public const int VmStateSizeOffset = VmClockNsecOffset + 8;
    public const int ExtraDataSizeOffset = VmStateSizeOffset + 4;
    /// <summary>Bytes of the fixed part.</summary>
    public const int FixedSize = ExtraDataSizeOffset + 4;
    /// <summary>Extra data field: the 64-bit VM state size (the fixed part's is 32 bits).</summary>
    public const int VmStateSizeLargeOffset = FixedSize;
    /// <summary>Extra data field: the guest disk size when the snapshot was taken.</summary>
    public const int DiskSizeOffset = VmStateSizeLargeOffset + 8;
    /// <summary>Extra data field: the icount when the snapshot was taken (-1: none).</summary>
    public const int IcountOffset = DiskSizeOffset + 8;
    /// <summary>Extra data QEMU writes: vm_state_size_large, disk_size, icount.</summary>
    public const int QemuExtraSize = 24;
    /// <summary>Extra data a version 3 entry must have at least (vm_state_size_large and disk_size).</summary>
    public const int V3MinExtraSize = 16;
    /// <summary>QCOW_MAX_SNAPSHOT_EXTRA_DATA.</summary>
    public const int MaxExtraData = 1024;

    public ulong L1TableOffset { get; set; }
    public uint L1Size { get; set; }
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public uint DateSec { get; set; }
    public uint DateNsec { get; set; }
    public ulong VmClockNsec { get; set; }
    public ulong VmStateSize { get; set; }
    public ulong DiskSize { get; set; }
    public ulong Icount { get; set; } = ulong.MaxValue;
    /// <summary>Extra data bytes as stored (the size QEMU read).</summary>
    public uint ExtraDataSize { get; set; } = QemuExtraSize;
    /// <summary>Extra data beyond the fields QEMU knows, preserved on rewrite.</summary>
    public byte[] UnknownExtra { get; set; } = [];

    /// <summary>Parses the entry at offset of the table; returns the offset after it. Throws CorruptImageException with QEMU's message.</summary>
    public static SnapshotEntry Parse(ReadOnlySpan<byte> table, int offset, int index, ulong defaultDiskSize, out int next)
    {
        if (offset + FixedSize > table.Length)
        {
            throw new CorruptImageException("Snapshot table is too big", Errno.EFBIG);
        }
        var b = table[offset..];
        var e = new SnapshotEntry
        {
            L1TableOffset = BinaryPrimitives.ReadUInt64BigEndian(b[L1TableOffsetOffset..]),
            L1Size = BinaryPrimitives.ReadUInt32BigEndian(b[L1SizeOffset..]),
            DateSec = BinaryPrimitives.ReadUInt32BigEndian(b[DateSecOffset..]),
            DateNsec = BinaryPrimitives.ReadUInt32BigEndian(b[DateNsecOffset..]),
            VmClockNsec = BinaryPrimitives.ReadUInt64BigEndian(b[VmClockNsecOffset..]),
            VmStateSize = BinaryPrimitives.ReadUInt32BigEndian(b[VmStateSizeOffset..]),
            ExtraDataSize = BinaryPrimitives.ReadUInt32BigEndian(b[ExtraDataSizeOffset..]),
            DiskSize = defaultDiskSize,
        };
        int idSize = BinaryPrimitives.ReadUInt16BigEndian(b[IdStrSizeOffset..]);
        int nameSize = BinaryPrimitives.ReadUInt16BigEndian(b[NameSizeOffset..]);
        if (e.ExtraDataSize > MaxExtraData)
        {
            throw new CorruptImageException($"Too much extra metadata in snapshot table entry {index}", Errno.EFBIG);
        }
        int pos = offset + FixedSize;
        if (pos + (long)e.ExtraDataSize + idSize + nameSize > table.Length)
        {
            throw new CorruptImageException("Snapshot table is too big", Errno.EFBIG);
        }
        var extra = table.Slice(pos, (int)e.ExtraDataSize);
        if (extra.Length >= DiskSizeOffset - FixedSize)
        {
            e.VmStateSize = BinaryPrimitives.ReadUInt64BigEndian(extra[(VmStateSizeLargeOffset - FixedSize)..]);
        }
        if (extra.Length >= IcountOffset - FixedSize)
        {
            e.DiskSize = BinaryPrimitives.ReadUInt64BigEndian(extra[(DiskSizeOffset - FixedSize)..]);
        }
        if (extra.Length >= QemuExtraSize)
        {
            e.Icount = BinaryPrimitives.ReadUInt64BigEndian(extra[(IcountOffset - FixedSize)..]);
        }
        if (extra.Length > QemuExtraSize)
        {
            e.UnknownExtra = extra[QemuExtraSize..].ToArray();
        }
        pos += (int)e.ExtraDataSize;
        // QEMU keeps id and name as C strings: a NUL ends them.
        e.Id = CString(table.Slice(pos, idSize));
        pos += idSize;
        e.Name = CString(table.Slice(pos, nameSize));
        pos += nameSize;
        next = (pos + 7) & ~7;
        return e;
    }

    /// <summary>Serializes the entry as QEMU writes it (24 bytes of known extra data plus preserved unknown extra).</summary>
    public byte[] ToBytes()
    {
        var id = Encoding.UTF8.GetBytes(Id);
        var name = Encoding.UTF8.GetBytes(Name);
        int extraSize = QemuExtraSize + UnknownExtra.Length;
        var b = new byte[(FixedSize + extraSize + id.Length + name.Length + 7) & ~7];
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(L1TableOffsetOffset), L1TableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(L1SizeOffset), L1Size);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(IdStrSizeOffset), (ushort)id.Length);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(NameSizeOffset), (ushort)name.Length);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(DateSecOffset), DateSec);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(DateNsecOffset), DateNsec);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(VmClockNsecOffset), VmClockNsec);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(VmStateSizeOffset), VmStateSize > uint.MaxValue ? 0 : (uint)VmStateSize);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(ExtraDataSizeOffset), (uint)extraSize);
        int pos = FixedSize;
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(VmStateSizeLargeOffset), VmStateSize);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(DiskSizeOffset), DiskSize);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(IcountOffset), Icount);
        UnknownExtra.CopyTo(b, pos + QemuExtraSize);
        pos += extraSize;
        id.CopyTo(b, pos);
        name.CopyTo(b, pos + id.Length);
        return b;
    }

    /// <summary>The public view of this entry.</summary>
    public SnapshotInfo ToInfo() => new(Id, Name, VmStateSize, DateSec, DateNsec, VmClockNsec, DiskSize,
        Icount == ulong.MaxValue ? null : Icount);

    /// <summary>The bytes up to the first NUL, as UTF-8.</summary>
    private static string CString(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? b[..nul] : b);
    }
}
