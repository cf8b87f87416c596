using System.Buffers;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>How many clusters of one compressed write are compressed at a time (QCOW2_MAX_WORKERS, the
    /// tasks qcow2_co_pwritev_compressed keeps in flight); the request holds at most this many compressed copies.</summary>
    private const int CompressedWindow = 8;

    /// <inheritdoc/>
    /// <remarks>
    /// As in QEMU, the clusters of a request are compressed in parallel (by worker threads, CompressedWindow at a time)
    /// but, unlike QEMU, always allocated and written in guest order, so the file is the same however the threads run.
    /// </remarks>
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data)
    {
        BeginCompressedWrite(offset, data.Length);
        if (data.Length <= _clusterSize)
        {
            WriteCompressedCluster(offset, data, data.IsEmpty ? default : PackCluster(data));
        }
        else
        {
            WriteCompressedClusters(offset, data);
        }
        FlushIfWriteThrough();
    }

    /// <summary>
    /// The clusters of a longer request, compressed by worker threads in a sliding window (a cluster's buffer takes the
    /// next cluster once it is compressed) and written in guest order.
    /// </summary>
    private void WriteCompressedClusters(long offset, ReadOnlySpan<byte> data)
    {
        int count = (data.Length + _clusterSize - 1) / _clusterSize;
        var buffers = new byte[Math.Min(CompressedWindow, count)][];
        var jobs = new Compression.PackWorkers.Job[buffers.Length];
        using var workers = new Compression.PackWorkers(Compression.PackWorkers.ThreadsFor(buffers.Length));
        for (int i = 0; i < buffers.Length; i++)
        {
            jobs[i] = PackAhead(workers, data, i, buffers[i] = new byte[_clusterSize]);
        }
        for (int i = 0; i < count; i++)
        {
            int slot = i % buffers.Length;
            PackedCluster cluster = workers.Wait(jobs[slot]);
            if (i + buffers.Length < count)
            {
                jobs[slot] = PackAhead(workers, data, i + buffers.Length, buffers[slot]);
            }
            int start = i * _clusterSize;
            WriteCompressedCluster(offset + start, data.Slice(start, Math.Min(_clusterSize, data.Length - start)), cluster);
        }
    }

    /// <summary>Copies cluster index of the request into buffer (zero-padded) and has it compressed by a worker.</summary>
    private Compression.PackWorkers.Job PackAhead(Compression.PackWorkers workers, ReadOnlySpan<byte> data, int index, byte[] buffer)
    {
        int start = index * _clusterSize;
        int length = Math.Min(_clusterSize, data.Length - start);
        data.Slice(start, length).CopyTo(buffer);
        buffer.AsSpan(length).Clear();
        return workers.Start(() => Pack(buffer));
    }

    /// <summary>
    /// Compresses at most one cluster of guest data (zero-padded to a whole cluster) as a compressed write would. It
    /// touches no image state, so it may run on any thread while the image is used, ahead of the write that takes it.
    /// </summary>
    public PackedCluster PackCluster(ReadOnlySpan<byte> data)
    {
        if (data.Length > _clusterSize)
        {
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, "more than one cluster");
        }
        if (data.Length == _clusterSize)
        {
            return Pack(data);
        }
        byte[] padded = ArrayPool<byte>.Shared.Rent(_clusterSize);
        try
        {
            data.CopyTo(padded);
            padded.AsSpan(data.Length, _clusterSize - data.Length).Clear();
            return Pack(padded.AsSpan(0, _clusterSize));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(padded);
        }
    }

    /// <summary>
    /// qcow2_co_compress on a whole cluster, into a buffer from the shared pool that the write taking it gives back, so
    /// that a long compressed copy allocates nothing per cluster.
    /// </summary>
    private PackedCluster Pack(ReadOnlySpan<byte> cluster)
    {
        byte[] output = ArrayPool<byte>.Shared.Rent(_clusterSize - 1);
        Span<byte> room = output.AsSpan(0, _clusterSize - 1);
        bool fits = _header.CompressionType == ZstdCompression
            ? Compression.ClusterZstd.TryCompress(cluster, room, out int written)
            : Compression.ClusterDeflate.TryCompress(cluster, room, out written);
        if (!fits)
        {
            ArrayPool<byte>.Shared.Return(output);
            return default;
        }
        return new PackedCluster(output, written);
    }

    /// <summary>
    /// A compressed write of at most one cluster whose compressed form PackCluster made from the same data, possibly on
    /// another thread; the allocation, L2 update and data write are those of <see cref="WriteCompressed(long, ReadOnlySpan{byte})"/>.
    /// </summary>
    public void WriteCompressed(long offset, ReadOnlySpan<byte> data, PackedCluster packed)
    {
        if (data.Length > _clusterSize)
        {
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, "more than one cluster");
        }
        BeginCompressedWrite(offset, data.Length);
        WriteCompressedCluster(offset, data, packed);
        FlushIfWriteThrough();
    }

    /// <summary>The checks qcow2_co_pwritev_compressed makes before it splits a request into clusters.</summary>
    private void BeginCompressedWrite(long offset, int length)
    {
        _guestWriteGeneration++;
        CheckWritable();
        CheckRequest(offset, length);
        MarkBitmapsDirty(offset, length);
        if (HasDataFile)
        {
            // qcow2_co_pwritev_compressed_part: compressed clusters cannot live in an external data file.
            throw new BlockIOException(Errno.ENOTSUP);
        }
        if (OffsetIntoCluster(offset) != 0 || (OffsetIntoCluster(length) != 0 && offset + length != Size))
        {
            throw new BlockIOException(Errno.EINVAL);
        }
    }

    /// <summary>Writes one cluster in its compressed form and gives that form's buffer back to the pool, whatever happens.</summary>
    private void WriteCompressedCluster(long offset, ReadOnlySpan<byte> data, PackedCluster compressed)
    {
        try
        {
            WriteCompressedCluster(offset, data, compressed.Span);
        }
        finally
        {
            compressed.Release();
        }
    }

    private void WriteCompressedCluster(long offset, ReadOnlySpan<byte> data, ReadOnlySpan<byte> packed)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if (packed.IsEmpty || packed.Length > _clusterSize - 1)
        {
            // Incompressible: QEMU writes the cluster uncompressed.
            WriteGuest(offset, data);
            return;
        }
        var (l2Offset, table, index) = GetClusterTable(offset);
        if ((GetEntry(table, index) & L2Entry.OffsetMask) != 0)
        {
            throw new BlockIOException(Errno.EIO);
        }
        long host = AllocBytes(packed.Length);
        var entry = L2Entry.MakeCompressed(host, packed.Length, _clusterBits);
        (l2Offset, table, index) = GetClusterTable(offset);
        _file.DebugEvent("l2_update_compressed");
        _l2Cache.MarkDirty(l2Offset);
        SetEntry(table, index, entry.Raw);
        if (ExtendedL2)
        {
            // A compressed cluster has no subclusters: its bitmap must be all zero.
            SetBitmap(table, index, 0);
        }
        PreWriteOverlapCheck(OverlapTypes.None, host, packed.Length);
        _file.DebugEvent("write_compressed");
        _file.Write(host, packed);
    }

    /// <summary>The compression types QEMU knows: 0 zlib, 1 zstd; the incompatible bit must be set exactly when the type is not zlib.</summary>
    private static void ValidateCompressionType(Header h)
    {
        if (h.CompressionType > 1)
        {
            throw new ImageOpenException($"qcow2: unknown compression type: {h.CompressionType}", Errno.ENOTSUP);
        }
        bool bit = (h.IncompatibleFeatures & Features.IncompatCompression) != 0;
        if (h.CompressionType == 0 && bit)
        {
            throw new ImageOpenException("qcow2: Compression type incompatible feature bit must not be set", Errno.EINVAL);
        }
        if (h.CompressionType != 0 && !bit)
        {
            throw new ImageOpenException("qcow2: Compression type incompatible feature bit must be set", Errno.EINVAL);
        }
    }

    /// <summary>compression_type 1: zstd clusters (the header's incompatible compression bit is set with it).</summary>
    private const byte ZstdCompression = 1;

    private void ReadCompressed(L2Entry entry, long inCluster, Span<byte> dst)
    {
        _file.DebugEvent("read_compressed");
        long coffset = entry.CompressedOffset(_clusterBits);
        int csize = entry.CompressedSize(_clusterBits);
        var packed = ReadFile(coffset, csize);
        var cluster = new byte[_clusterSize];
        bool ok = _header.CompressionType == ZstdCompression
            ? Compression.ClusterZstd.Decompress(packed, cluster)
            : Compression.ClusterDeflate.Decompress(packed, cluster);
        if (!ok)
        {
            throw new BlockIOException(Errno.EIO);
        }
        cluster.AsSpan((int)inCluster, dst.Length).CopyTo(dst);
    }
}

/// <summary>
/// One cluster compressed ahead of its write by <see cref="Qcow2Image.PackCluster"/>: its first Length bytes of Bytes,
/// a buffer from the shared array pool that the write taking the cluster gives back.
/// </summary>
/// <param name="Bytes">the buffer holding the compressed cluster, or null when it does not shrink (it is then written as it is)</param>
/// <param name="Length">how many bytes of Bytes the compressed cluster takes</param>
public readonly record struct PackedCluster(byte[]? Bytes, int Length)
{
    /// <summary>The compressed cluster; empty when it does not shrink.</summary>
    public ReadOnlySpan<byte> Span => Bytes.AsSpan(0, Length);

    /// <summary>Gives the buffer back to the pool; the cluster must not be used afterwards.</summary>
    internal void Release()
    {
        if (Bytes is not null)
        {
            ArrayPool<byte>.Shared.Return(Bytes);
        }
    }
}
