using System.Buffers.Binary;
using System.Collections;
using System.Text;
using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>What the snapshot table needs from the image it belongs to.</summary>
internal interface ISnapshotTableHost
{
    /// <summary>The image file as it is now (an overlay while a crash-safe operation runs).</summary>
    IStorage File { get; }

    /// <summary>Where the clusters of a new table come from and an old table's go.</summary>
    Refcounts Refcounts { get; }

    /// <summary>Writes the L2 and refcount caches and flushes the file (qcow2_flush_caches).</summary>
    void FlushCaches();

    /// <summary>The pre-write overlap check for a new table at [offset, offset + size), nothing ignored.</summary>
    void PreWriteOverlapCheck(long offset, long size);

    /// <summary>The header on disk now counts count snapshots in the table at offset.</summary>
    void SnapshotTableSwitched(int count, long offset);
}

/// <summary>
/// The internal snapshot table (QEMU's qcow2-snapshot.c, qcow2_read_snapshots and qcow2_write_snapshots): the
/// entries in table order and where the table is in the file. Changes to the list reach the file with <see cref="Write"/>.
/// </summary>
internal sealed class SnapshotTable(ISnapshotTableHost host, IMetadataTracker tracker) : IReadOnlyList<SnapshotEntry>
{
    private List<SnapshotEntry> _entries = new();

    /// <summary>Where the table is in the file (0 when there is none).</summary>
    public long Offset { get; private set; }

    /// <summary>Bytes from the first entry to the end of the last one.</summary>
    public long Size { get; private set; }

    /// <inheritdoc/>
    public int Count => _entries.Count;

    /// <inheritdoc/>
    public SnapshotEntry this[int index] => _entries[index];

    /// <inheritdoc/>
    public IEnumerator<SnapshotEntry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Changes each time the list of entries changes, for callers that derive something from all of them.</summary>
    public int Version { get; private set; }

    /// <summary>Appends an entry (in memory only).</summary>
    public void Add(SnapshotEntry sn)
    {
        _entries.Add(sn);
        Version++;
    }

    /// <summary>Removes an entry (in memory only).</summary>
    public void RemoveAt(int index)
    {
        _entries.RemoveAt(index);
        Version++;
    }

    /// <summary>Takes list, as the check read it from [offset, offset + size), as the table; the overlap tracking is the caller's.</summary>
    public void Replace(List<SnapshotEntry> list, long offset, long size)
    {
        _entries = list;
        Offset = offset;
        Size = size;
        Version++;
    }

    /// <summary>Reads the snapshot table (qcow2_read_snapshots) with QEMU's limits; bytes past the end of the file read as zeros.</summary>
    public void Read(long tableOffset, int count, ulong diskSize)
    {        Version++;

        Offset = tableOffset;
        _entries = new List<SnapshotEntry>(Math.Min(count, 1024));
        if (count == 0)
        {
            Size = 0;
            return;
        }
        long offset = Offset;
        long tableLength = 0;
        var fixedPart = new byte[SnapshotEntry.FixedSize];
        for (int i = 0; i < count; i++)
        {
            tableLength = Qcow2Image.RoundUp(tableLength, 8);
            offset = Qcow2Image.RoundUp(offset, 8);
            host.File.Read(offset, fixedPart);
            uint extraSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(SnapshotEntry.ExtraDataSizeOffset));
            int idSize = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(SnapshotEntry.IdStrSizeOffset));
            int nameSize = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(SnapshotEntry.NameSizeOffset));
            if (extraSize > SnapshotEntry.MaxExtraData)
            {
                throw new ImageOpenException($"Too much extra metadata in snapshot table entry {i}\n"
                    + "You can force-remove this extra metadata with qemu-img check -r all", Errno.EFBIG);
            }
            int entryLength = SnapshotEntry.FixedSize + (int)extraSize + idSize + nameSize;
            var entry = new byte[entryLength];
            host.File.Read(offset, entry);
            var sn = SnapshotEntry.Parse(entry, 0, i, diskSize, out _);
            offset += entryLength;
            tableLength += entryLength;
            if (tableLength > MaxSnapshotsSize || offset - Offset > int.MaxValue)
            {
                throw new ImageOpenException("Snapshot table is too big\n"
                    + $"You can force-remove all {count - i} overhanging snapshots with qemu-img check -r all", Errno.EFBIG);
            }
            _entries.Add(sn);
        }
        Size = offset - Offset;
    }

    /// <summary>
    /// Writes the whole snapshot table into newly allocated clusters, points the header at it and frees the old one
    /// (qcow2_write_snapshots). Entries are written one by one at 8-byte aligned offsets; padding is left untouched.
    /// </summary>
    public void Write()
    {
        long size = 0;
        var entries = new List<byte[]>(_entries.Count);
        foreach (var sn in _entries)
        {
            var b = sn.ToBytes();
            int unpadded = SnapshotEntry.FixedSize + SnapshotEntry.QemuExtraSize + sn.UnknownExtra.Length
                + Encoding.UTF8.GetByteCount(sn.Id) + Encoding.UTF8.GetByteCount(sn.Name);
            entries.Add(b.AsSpan(0, unpadded).ToArray());
            size = Qcow2Image.RoundUp(size, 8) + unpadded;
            if (size > MaxSnapshotsSize)
            {
                throw new BlockIOException(Errno.EFBIG);
            }
        }
        long newOffset = host.Refcounts.Alloc(size);
        try
        {
            WriteEntries(newOffset, size, entries);
        }
        catch (BlockIOException)
        {
            if (newOffset > 0)
            {
                host.Refcounts.Free(newOffset, size, DiscardType.Always);
            }
            throw;
        }
        host.SnapshotTableSwitched(_entries.Count, newOffset);
        host.Refcounts.Free(Offset, Size, DiscardType.Snapshot);
        tracker.Remove(Offset, Size, OverlapTypes.SnapshotTable);
        Offset = newOffset;
        Size = size;
        tracker.Enter(Offset, Size, OverlapTypes.SnapshotTable);
    }

    /// <summary>Writes the entries at newOffset, then the header's snapshot count and table offset.</summary>
    private void WriteEntries(long newOffset, long size, List<byte[]> entries)
    {
        host.FlushCaches();
        host.PreWriteOverlapCheck(newOffset, size);
        long pos = newOffset;
        foreach (var b in entries)
        {
            pos = Qcow2Image.RoundUp(pos, 8);
            host.File.Write(pos, b);
            pos += b.Length;
        }
        host.FlushCaches();
        var hdr = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(hdr, (uint)_entries.Count);
        BinaryPrimitives.WriteUInt64BigEndian(hdr.AsSpan(4), (ulong)newOffset);
        host.File.Write(Header.NbSnapshotsOffset, hdr);
        host.File.Flush();
    }
}
