using Qcow2.Format;

namespace Qcow2.Tools.Mkimage;

/// <summary>Where a named value lives: ByteCount bytes at Offset, and within them Bits bits starting Shift bits above the LSB.</summary>
internal sealed record Location(long Offset, int ByteCount, int Shift, int Bits)
{
    /// <summary>A byte-aligned big-endian field.</summary>
    public static Location Bytes(long offset, int size) => new(offset, size, 0, size * 8);
}

/// <summary>Resolves structure names against the image itself, reading only the raw bytes (never the engine's validating open).</summary>
internal static class StructureResolver
{
    /// <summary>Finds where the named value lives; the location is checked to lie inside the file.</summary>
    public static Location Resolve(ImageFile file, StructurePath p)
    {
        var loc = p.Kind switch
        {
            StructureKind.Header => HeaderField(p),
            StructureKind.L1 => L1(file, p),
            StructureKind.L2 => L2(file, p),
            StructureKind.RefcountTable => RefcountTable(file, p),
            StructureKind.RefcountBlock => RefcountBlock(file, p),
            _ => Snapshot(file, p),
        };
        if (loc.Offset < 0 || loc.Offset > file.Length - loc.ByteCount)
        {
            throw new MkimageException(
                $"{p.Text}: offset 0x{(ulong)loc.Offset:x} lies beyond the end of the file (size 0x{file.Length:x})");
        }
        return loc;
    }

    private static Location HeaderField(StructurePath p)
    {
        var f = HeaderFields.FindForPoke(p.Field) ?? throw new MkimageException(
            $"{p.Text}: unknown header field '{p.Field}' (known: " +
            string.Join(", ", HeaderFields.Qcow2Py.Select(x => x.Name).Append(HeaderFields.CompressionType.Name)) + ")");
        return Location.Bytes(f.Offset, f.Size);
    }

    private static Location L1(ImageFile file, StructurePath p)
    {
        var h = Geometry(file, p);
        CheckIndex(p, p.I, h.L1Size, "l1_size is " + h.L1Size);
        return Location.Bytes(TableSlot(p, h.L1TableOffset, p.I, Layout.TableEntrySize), Layout.TableEntrySize);
    }

    private static Location L2(ImageFile file, StructurePath p)
    {
        var h = Geometry(file, p);
        CheckIndex(p, p.I, h.L1Size, "l1_size is " + h.L1Size);
        long l1At = TableSlot(p, h.L1TableOffset, p.I, Layout.TableEntrySize);
        ulong l1e = BigEndian.Read(file.ReadExact(l1At, Layout.TableEntrySize, $"{p.Text}: L1 entry {p.I}"));
        ulong l2Offset = l1e & Layout.L1OffsetMask;
        if (l2Offset == 0)
        {
            throw new MkimageException($"{p.Text}: L1 entry {p.I} is unallocated");
        }
        int entrySize = (h.IncompatibleFeatures & Features.IncompatExtendedL2) != 0
            ? Layout.ExtendedL2EntrySize
            : Layout.L2EntrySize;
        long entries = (1L << (int)h.ClusterBits) / entrySize;
        CheckIndex(p, p.J, entries, $"an L2 table has {entries} entries");
        // With extended L2 the name addresses the 64-bit descriptor, the first half of the 128-bit entry, and
        // l2[i][j].bitmap the subcluster bitmap, the second half.
        if (p.Field == "bitmap")
        {
            if (entrySize != Layout.ExtendedL2EntrySize)
            {
                throw new MkimageException($"{p.Text}: the image has no extended L2 entries (incompatible feature bit 4)");
            }
            return Location.Bytes(TableSlot(p, l2Offset, p.J, entrySize) + Layout.L2EntrySize, Layout.L2EntrySize);
        }
        return Location.Bytes(TableSlot(p, l2Offset, p.J, entrySize), Layout.L2EntrySize);
    }

    private static Location RefcountTable(ImageFile file, StructurePath p)
    {
        var h = Geometry(file, p);
        long entries = ReftableEntries(h);
        CheckIndex(p, p.I, entries, $"the refcount table has {entries} entries");
        return Location.Bytes(TableSlot(p, h.RefcountTableOffset, p.I, Layout.TableEntrySize), Layout.TableEntrySize);
    }

    private static Location RefcountBlock(ImageFile file, StructurePath p)
    {
        var h = Geometry(file, p);
        if (h.RefcountOrder > Layout.MaxRefcountOrder)
        {
            throw new MkimageException(
                $"{p.Text}: refcount_order {h.RefcountOrder} is not supported (at most {Layout.MaxRefcountOrder})");
        }
        long entries = ReftableEntries(h);
        CheckIndex(p, p.I, entries, $"the refcount table has {entries} entries");
        long rtAt = TableSlot(p, h.RefcountTableOffset, p.I, Layout.TableEntrySize);
        ulong rte = BigEndian.Read(file.ReadExact(rtAt, Layout.TableEntrySize, $"{p.Text}: refcount table entry {p.I}"));
        ulong block = rte & Layout.RefTableOffsetMask;
        if (block == 0)
        {
            throw new MkimageException($"{p.Text}: refcount table entry {p.I} is unallocated");
        }
        int order = (int)h.RefcountOrder;
        int bits = 1 << order;
        long perBlock = (8L << (int)h.ClusterBits) >> order;
        CheckIndex(p, p.J, perBlock, $"a refcount block has {perBlock} entries of {bits} bits");
        long bitPos = p.J << order;
        long at = Offset(p, block, (ulong)(bitPos >> 3));
        // Sub-byte refcounts are packed from the least significant bit of each byte upwards.
        return bits >= 8 ? Location.Bytes(at, bits / 8) : new Location(at, 1, (int)(bitPos & 7), bits);
    }

    private static Location Snapshot(ImageFile file, StructurePath p)
    {
        var h = Geometry(file, p, needClusterBits: false);
        var f = Array.Find(Layout.SnapshotFields, x => x.Name == p.Field) ?? throw new MkimageException(
            $"{p.Text}: unknown snapshot field '{p.Field}' (known: " +
            string.Join(", ", Layout.SnapshotFields.Select(x => x.Name)) + ")");
        CheckIndex(p, p.I, h.NbSnapshots, "nb_snapshots is " + h.NbSnapshots);
        long pos = Offset(p, h.SnapshotsOffset, 0);
        for (long k = 0; ; k++)
        {
            var e = file.ReadExact(pos, Layout.SnapshotFixedSize, $"{p.Text}: snapshot table entry {k}");
            uint extra = (uint)BigEndian.Read(e.AsSpan(36, 4));
            if (k == p.I)
            {
                long needed = f.Offset + f.Size - Layout.SnapshotFixedSize;
                if (needed > 0 && extra < needed)
                {
                    throw new MkimageException(
                        $"{p.Text}: field {p.Field} is not present (extra_data_size is {extra})");
                }
                return Location.Bytes(Offset(p, (ulong)pos, (ulong)f.Offset), f.Size);
            }
            uint idSize = (uint)BigEndian.Read(e.AsSpan(12, 2));
            uint nameSize = (uint)BigEndian.Read(e.AsSpan(14, 2));
            pos = Offset(p, (ulong)pos, (ulong)Layout.Align8(Layout.SnapshotFixedSize + (long)extra + idSize + nameSize));
        }
    }

    /// <summary>The header as the engine parses it (v2 images get the v3 defaults); cluster_bits checked when tables are sized by it.</summary>
    private static Header Geometry(ImageFile file, StructurePath p, bool needClusterBits = true)
    {
        var h = Header.Parse(file.ReadPadded(0, Header.V3Length));
        if (needClusterBits && (h.ClusterBits < Layout.MinClusterBits || h.ClusterBits > Layout.MaxClusterBits))
        {
            throw new MkimageException(
                $"{p.Text}: cluster_bits {h.ClusterBits} is outside {Layout.MinClusterBits}..{Layout.MaxClusterBits}; " +
                "cannot locate the table");
        }
        return h;
    }

    private static long ReftableEntries(Header h) =>
        ((long)h.RefcountTableClusters << (int)h.ClusterBits) / Layout.TableEntrySize;

    private static void CheckIndex(StructurePath p, long index, long count, string why)
    {
        if (index >= count)
        {
            throw new MkimageException($"{p.Text}: index {index} is out of range ({why})");
        }
    }

    private static long TableSlot(StructurePath p, ulong tableOffset, long index, int entrySize) =>
        Offset(p, tableOffset, (ulong)index * (ulong)entrySize);

    /// <summary>base + delta as a file offset, or a clear error when it cannot be one.</summary>
    private static long Offset(StructurePath p, ulong @base, ulong delta)
    {
        ulong sum = @base + delta;
        if (sum < @base || sum > long.MaxValue)
        {
            throw new MkimageException($"{p.Text}: offset 0x{@base:x} + 0x{delta:x} is not a valid file offset");
        }
        return (long)sum;
    }
}
