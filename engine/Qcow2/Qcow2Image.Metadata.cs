using Qcow2.Format;
using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

/// <content>The one enumeration of the image's metadata structures: the metadata list is built from it and the linear scan walks it.</content>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Calls <paramref name="visit"/> for every metadata structure of <paramref name="types"/>, in the order the metadata
    /// list enters them at open (under a memory limit that order decides which ranges go unchecked): the header cluster,
    /// the refcount table, the refcount blocks (up to the highest used reftable entry), the active L1 table, the active
    /// L2 tables (from the in-memory L1), the snapshot table, each snapshot's L1 table and inactive L2 tables (read from
    /// the file), the bitmap directory, and the LUKS encryption header (as far as the file reached at open; see
    /// <see cref="CryptoHeaderProtectedLength"/>). Empty structures are skipped; offsets are passed as found, even unaligned.
    /// </summary>
    internal void ForEachMetadataStructure(OverlapTypes types, MetadataVisitor visit)
    {
        if ((types & OverlapTypes.MainHeader) != 0)
        {
            visit(0, _clusterSize, OverlapTypes.MainHeader);
        }
        if ((types & OverlapTypes.RefcountTable) != 0 && _refcounts.TableSize > 0)
        {
            visit(_refcounts.TableOffset, _refcounts.TableSize * 8, OverlapTypes.RefcountTable);
        }
        if ((types & OverlapTypes.RefcountBlock) != 0)
        {
            for (long i = 0; i <= _refcounts.MaxTableIndex && i < _refcounts.TableSize; i++)
            {
                long rb = (long)(_refcounts.Table[i] & RefcountTableEntryOffsetMask);
                if (rb != 0)
                {
                    visit(rb, _clusterSize, OverlapTypes.RefcountBlock);
                }
            }
        }
        if ((types & OverlapTypes.ActiveL1) != 0 && _l1Size > 0)
        {
            visit(_l1TableOffset, (long)_l1Size * 8, OverlapTypes.ActiveL1);
        }
        if ((types & OverlapTypes.ActiveL2) != 0)
        {
            for (int i = 0; i < _l1Size; i++)
            {
                long l2 = (long)(_l1Table[i] & L1Entry.OffsetMask);
                if (l2 != 0)
                {
                    visit(l2, _clusterSize, OverlapTypes.ActiveL2);
                }
            }
        }
        if ((types & OverlapTypes.SnapshotTable) != 0 && _snapshots.Size > 0)
        {
            visit(_snapshots.Offset, _snapshots.Size, OverlapTypes.SnapshotTable);
        }
        foreach (var sn in _snapshots)
        {
            ForEachSnapshotStructure(sn, types, visit);
        }
        if ((types & OverlapTypes.BitmapDirectory) != 0 && (_header.AutoclearFeatures & Features.AutoclearBitmaps) != 0
            && _bitmapDirectory.Size > 0)
        {
            visit(_bitmapDirectory.Offset, _bitmapDirectory.Size, OverlapTypes.BitmapDirectory);
        }
        if ((types & OverlapTypes.CryptoHeader) != 0 && CryptoHeaderProtectedLength > 0)
        {
            visit(CryptoHeaderOffset, CryptoHeaderProtectedLength, OverlapTypes.CryptoHeader);
        }
    }

    /// <summary>
    /// Calls <paramref name="visit"/> for one snapshot's structures of <paramref name="types"/>: its L1 table (the whole
    /// claimed range, even when too large to load, as upstream's scan counts it), then the L2 tables it references, read
    /// from the file when its L1 table is aligned and of a loadable size.
    /// </summary>
    private void ForEachSnapshotStructure(SnapshotEntry sn, OverlapTypes types, MetadataVisitor visit)
    {
        if (sn.L1Size == 0)
        {
            return;
        }
        if ((types & OverlapTypes.InactiveL1) != 0)
        {
            visit((long)sn.L1TableOffset, (long)sn.L1Size * 8, OverlapTypes.InactiveL1);
        }
        if ((types & OverlapTypes.InactiveL2) == 0 || InactiveL2StepError(sn) is not null)
        {
            return;
        }
        // QEMU's scan reads each snapshot L1 table from the file on every check; so does ours, into one pooled buffer
        // (a 64 TiB image has 1 MiB tables, and a fresh array per table per write was the scan's main cost), decoding
        // only the non-zero entries.
        TableScan.ForEachNonZero(_file, (long)sn.L1TableOffset, (int)sn.L1Size, (_, e) =>
        {
            long l2 = (long)(e & L1Entry.OffsetMask);
            if (l2 != 0)
            {
                visit(l2, _clusterSize, OverlapTypes.InactiveL2);
            }
        });
    }

    /// <summary>The scan's view as a per-cluster type map of the first clusterCount clusters (the differential oracle).</summary>
    internal OverlapTypes[] ScanTypeMap(long clusterCount)
    {
        var map = new OverlapTypes[clusterCount];
        ForEachMetadataStructure(_overlapCheck, (start, len, type) =>
        {
            long first = start >> _clusterBits;
            long last = Math.Min(clusterCount - 1, (start + len - 1) >> _clusterBits);
            for (long c = Math.Max(first, 0); c <= last; c++)
            {
                map[c] |= type;
            }
        });
        return map;
    }
}
