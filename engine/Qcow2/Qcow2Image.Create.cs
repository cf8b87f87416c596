using System.Buffers.Binary;
using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>Creates a new image file at path (overwriting it), laid out as qemu-img create lays it out.</summary>
    public static void Create(string path, Qcow2CreateOptions options)
    {
        byte[]? masterKey;
        using (var storage = FileStorage.Create(path))
        {
            masterKey = FormatImage(storage, options);
        }
        // QEMU preallocates through the image it just encrypted; the reopen here gets the key it made.
        var openOptions = new OpenOptions
        {
            Format = "qcow2",
            NoBacking = true,
            Options = { ["overlap-check"] = "none" },
            CreatedPassword = options.Encryption?.Password,
            CreatedMasterKey = masterKey,
        };
        if (options.DataFile is not null)
        {
            CreateDataFileContents(path, options, openOptions);
        }
        else if (options.Preallocation is "metadata" or "falloc" or "full")
        {
            using var img = (Qcow2Image)ImageOpener.Open(path, openOptions);
            if (options.Preallocation == "metadata")
            {
                img.PreallocateMetadata(0, options.Size);
            }
            else
            {
                img.PreallocateData(0, options.Size, full: options.Preallocation == "full");
            }
        }
    }

    /// <summary>
    /// Writes an empty image as qcow2_co_create does: header in cluster 0, a one-cluster refcount table at cluster 1
    /// whose first block is cluster 2, the three clusters counted, then the size set, which puts the L1 table at cluster 3.
    /// </summary>
    public static void Format(IStorage storage, Qcow2CreateOptions o) => FormatImage(storage, o);

    /// <summary><see cref="Format"/>, returning the LUKS master key of an image it encrypted with LUKS.</summary>
    private static byte[]? FormatImage(IStorage storage, Qcow2CreateOptions o)
    {
        int clusterBits = System.Numerics.BitOperations.Log2((uint)o.ClusterSize);
        int cs = o.ClusterSize;
        var h = new Header
        {
            Version = (uint)o.Version,
            ClusterBits = (uint)clusterBits,
            Size = 0,
            RefcountTableOffset = (ulong)cs,
            RefcountTableClusters = 1,
            RefcountOrder = (uint)System.Numerics.BitOperations.Log2((uint)o.RefcountBits),
            HeaderLength = o.Version >= 3 ? (uint)Header.V3Length : Header.V2Length,
            CompatibleFeatures = o.LazyRefcounts ? Features.CompatLazyRefcounts : 0,
            IncompatibleFeatures = (o.CompressionType != 0 ? Features.IncompatCompression : 0) | (o.ExtendedL2 ? Features.IncompatExtendedL2 : 0),
            CompressionType = o.CompressionType,
        };
        var cluster0 = new byte[cs];
        h.ToBytes().CopyTo(cluster0, 0);
        storage.Write(0, cluster0);
        var rt = new byte[2 * cs];
        BinaryPrimitives.WriteUInt64BigEndian(rt, (ulong)(2 * cs));
        storage.Write(cs, rt);

        var img = new Qcow2Image(storage, new OpenOptions { Options = { ["overlap-check"] = "none" } }) { FileName = "" };
        img.Load();
        img.AllocClusters(3L * cs);
        if (o.BackingFile is not null)
        {
            img.BackingFileName = o.BackingFile;
            img.BackingFormat = o.BackingFormat;
        }
        img.SetDataFile(o.DataFile, o.DataFileRaw);
        img.UpdateHeader();
        img.GrowToSize(o.Size);
        img.SetUpEncryption(o.Encryption);
        img._l2Cache.Flush();
        img._refcounts.Cache.Flush();
        img._disposed = true;
        return img._luks?.MasterKey;
    }

    /// <summary>Sets the virtual size of a freshly created image: grows the L1 table exactly and writes the size field (qcow2_co_truncate).</summary>
    private void GrowToSize(long size)
    {
        long newL1Size = SizeToL1(size);
        GrowL1Table(newL1Size, true);
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, (ulong)size);
        _file.Write(Header.SizeOffset, b);
        _header.Size = (ulong)size;
    }

    /// <summary>Allocates every L2 table and data cluster of [offset, end) without writing data (preallocate_co).</summary>
    private void PreallocateMetadata(long offset, long end)
    {
        long hostEnd = 0;
        while (offset < end)
        {
            long bytes = Math.Min(end - offset, (long)int.MaxValue & ~(long)(_clusterSize - 1));
            var metas = new List<L2Meta>();
            long host = AllocHostOffset(offset, ref bytes, metas);
            // qcow2_handle_l2meta with link_l2: the COW regions are copied first. Only a partial cluster has them: the
            // tail of the last cluster past a size that is not cluster-aligned, written as zeros (or backing data).
            foreach (var m in metas)
            {
                m.Prealloc = true;
                LinkL2(m);
            }
            hostEnd = Math.Max(hostEnd, host + bytes);
            offset += bytes;
        }
        _l2Cache.Flush();
        _refcounts.Cache.Flush();
        if (!HasDataFile && _file.Length < hostEnd)
        {
            // preallocate_co extends the file to the end of the last allocated cluster.
            _file.SetLength(RoundUp(hostEnd, _clusterSize));
        }
    }

    /// <summary>
    /// preallocation=falloc|full (qcow2_co_truncate): new self-describing refcount structures at the end of the file sized
    /// for every new data cluster and L2 table, the data clusters right after them, the file grown over them (allocated, or
    /// written with zeros for full), then the L2 entries linked, which allocates the L2 tables after the data.
    /// </summary>
    private void PreallocateData(long oldLength, long newLength, bool full)
    {
        long oldFileSize = _file.Length;
        long lastCluster = -1;
        for (long i = SizeToClusters(oldFileSize) - 1; i >= 0; i--)
        {
            if (GetRefcount(i) > 0)
            {
                lastCluster = i;
                break;
            }
        }
        oldFileSize = lastCluster >= 0 ? (lastCluster + 1) * _clusterSize : RoundUp(oldFileSize, _clusterSize);
        long nbData = (RoundUp(newLength, _clusterSize) - StartOfCluster(oldLength)) >> _clusterBits;
        long nbL2 = DivRoundUp(nbData, _clusterSize / _l2EntrySize) + 1;
        long allocationStart = RefcountArea(oldFileSize, nbData + nbL2, true, 0, 0);
        if (AllocClustersAt(allocationStart, nbData) != nbData)
        {
            throw new BlockIOException(Errno.EIO);
        }
        long newFileSize = allocationStart + nbData * _clusterSize;
        if (full)
        {
            // file-posix writes zero buffers for preallocation=full.
            var zeros = new byte[Math.Min(newFileSize - _file.Length, 1 << 20)];
            for (long at = _file.Length; at < newFileSize; at += zeros.Length)
            {
                _file.Write(at, zeros.AsSpan(0, (int)Math.Min(zeros.Length, newFileSize - at)));
            }
        }
        else
        {
            _file.Allocate(_file.Length, newFileSize - _file.Length);
        }
        long host = allocationStart, guest = oldLength;
        while (nbData > 0)
        {
            long n = Math.Min(nbData, _l2Size - L2Index(guest));
            long cowStart = OffsetIntoCluster(guest);
            guest = StartOfCluster(guest);
            LinkL2(new L2Meta
            {
                GuestOffset = guest,
                AllocOffset = host,
                NbClusters = (int)n,
                CowStartOffset = 0,
                CowStartBytes = cowStart,
                CowEndOffset = n << _clusterBits,
                CowEndBytes = 0,
                Prealloc = true,
            });
            guest += n * _clusterSize;
            host += n * _clusterSize;
            nbData -= n;
        }
        _l2Cache.Flush();
        _refcounts.Cache.Flush();
    }

    /// <summary>Repairs a dirty image when it is opened read-write (lazy refcounts left refcounts stale).</summary>
    private void RepairDirtyImage() => RepairDirtyImageByCheck();
}
