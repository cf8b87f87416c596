using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <inheritdoc/>
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data)
    {
        _guestWriteGeneration++;
        CheckWritable();
        CheckRequest(offset, data.Length);
        MarkBitmapsDirty(offset, data.Length);
        if (HasDataFile)
        {
            // qcow2_co_pwritev_compressed_part: compressed clusters cannot live in an external data file.
            throw new BlockIOException(Errno.ENOTSUP);
        }
        if (OffsetIntoCluster(offset) != 0 || (OffsetIntoCluster(data.Length) != 0 && offset + data.Length != Size))
        {
            throw new BlockIOException(Errno.EINVAL);
        }
        for (int done = 0; done < data.Length; done += _clusterSize)
        {
            int chunk = Math.Min(_clusterSize, data.Length - done);
            WriteCompressedCluster(offset + done, data.Slice(done, chunk));
        }
        FlushIfWriteThrough();
    }

    private void WriteCompressedCluster(long offset, ReadOnlySpan<byte> data)
    {
        var input = new byte[_clusterSize];
        data.CopyTo(input);
        var packed = _header.CompressionType == ZstdCompression
            ? Compression.ClusterZstd.Compress(input)
            : Compression.ClusterDeflate.Compress(input);
        if (packed is null || packed.Length > _clusterSize - 1)
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
