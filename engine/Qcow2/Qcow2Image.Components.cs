using Qcow2.Overlap;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>The image's side of its components' interfaces: what the refcount structures, the snapshot table and the bitmap directory ask of it.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>What the refcount structures are told by and ask of this image.</summary>
    private sealed class RefcountHost(Qcow2Image img) : IRefcountHost
    {
        public IStorage File => img._file;

        public MetadataCache L2Cache => img._l2Cache;

        public TextWriter Diagnostics => img._options.Diagnostics;

        public void SignalCorruption(string message) => img.SignalCorruption(true, -1, -1, message);

        public void NoteRefcountBlockEntered(long offset) => img._tracker.Enter(offset, img._clusterSize, OverlapTypes.RefcountBlock);

        public void NoteRefcountTableMoved(long oldOffset, long oldBytes) => img.NoteRefcountTableMoved(oldOffset, oldBytes);

        public void RefcountTableSwitched(long offset, uint clusters)
        {
            img._header.RefcountTableOffset = (ulong)offset;
            img._header.RefcountTableClusters = clusters;
        }
    }

    /// <summary>What the snapshot table is told by and asks of this image.</summary>
    private sealed class SnapshotHost(Qcow2Image img) : ISnapshotTableHost
    {
        public IStorage File => img._file;

        public Refcounts Refcounts => img._refcounts;

        public void FlushCaches() => img.FlushCaches();

        public void PreWriteOverlapCheck(long offset, long size) => img.PreWriteOverlapCheck(OverlapTypes.None, offset, size);

        public void SnapshotTableSwitched(int count, long offset)
        {
            img._header.NbSnapshots = (uint)count;
            img._header.SnapshotsOffset = (ulong)offset;
        }
    }

    /// <summary>What the bitmap directory asks of this image.</summary>
    private sealed class BitmapDirectoryHost(Qcow2Image img) : IBitmapDirectoryHost
    {
        public IStorage File => img._file;

        public Refcounts Refcounts => img._refcounts;

        public int ClusterSize => img._clusterSize;

        public long DiskLength => img.BitmapDiskLength;

        public void PreWriteOverlapCheck(OverlapTypes ignore, long offset, long size) => img.PreWriteOverlapCheck(ignore, offset, size);
    }

    /// <summary>The tracker the image chooses at open, for components created before it chooses (they pass every call on).</summary>
    private sealed class MetadataTracker(Qcow2Image img) : IMetadataTracker
    {
        public void Enter(long offset, long bytes, OverlapTypes type) => img._tracker.Enter(offset, bytes, type);

        public void Remove(long offset, long bytes, OverlapTypes type) => img._tracker.Remove(offset, bytes, type);
    }
}
