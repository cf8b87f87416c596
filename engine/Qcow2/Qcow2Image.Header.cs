using System.Buffers.Binary;
using System.Text;
using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>qemu-img 7.2 writes the feature name table only into images with clusters of 8 KiB or more (observed, 512 B to 2 MiB).</summary>
    private const int FeatureTableMinClusterSize = 8192;

    /// <summary>
    /// Rewrites cluster 0 as qcow2_update_header does: the header, the backing format extension, the feature
    /// table (version 3), preserved unknown extensions, the end marker and the backing file name.
    /// </summary>
    private void UpdateHeader()
    {
        var buf = new List<byte>(_clusterSize);
        _header.L1Size = (uint)_l1Size;
        _header.L1TableOffset = (ulong)_l1TableOffset;
        _header.RefcountTableOffset = (ulong)_refcounts.TableOffset;
        _header.RefcountTableClusters = (uint)(_refcounts.TableSize >> (_clusterBits - 3));
        if (_header.Version >= 3 && _header.HeaderLength < Header.V3Length)
        {
            _header.HeaderLength = Header.V3Length;
        }
        buf.AddRange(_header.ToBytes());
        if (BackingFormat is not null && BackingFileName is not null)
        {
            new HeaderExtension(HeaderExtension.BackingFormat, Encoding.UTF8.GetBytes(BackingFormat)).WriteTo(buf);
        }
        if (CryptoHeaderLength != 0)
        {
            CryptoExtension().WriteTo(buf);
        }
        WriteDataFileExtension(buf);
        if (_header.Version >= 3 && _clusterSize >= FeatureTableMinClusterSize)
        {
            HeaderExtension.QemuFeatureTable().WriteTo(buf);
        }
        foreach (var e in _unknownExtensions)
        {
            e.WriteTo(buf);
        }
        buf.AddRange(new byte[8]);
        // QEMU keeps the name it read whenever the header had a backing file offset, even an empty one, and writes
        // it back after the extensions (offset and length 0 for an empty name).
        if (BackingFileName is not null || _header.BackingFileOffset != 0)
        {
            var name = Encoding.UTF8.GetBytes(BackingFileName ?? "");
            _header.BackingFileOffset = (ulong)buf.Count;
            _header.BackingFileSize = (uint)name.Length;
            buf.AddRange(name);
            var hb = _header.ToBytes();
            for (int i = 0; i < hb.Length; i++)
            {
                buf[i] = hb[i];
            }
        }
        if (buf.Count > _clusterSize)
        {
            throw new BlockIOException(Errno.ENOSPC);
        }
        var cluster = new byte[_clusterSize];
        buf.CopyTo(cluster);
        _file.Write(0, cluster);
    }

    /// <summary>Writes only the incompatible feature bits (qcow2_mark_corrupt / mark_dirty / mark_clean write 8 bytes at 72).</summary>
    private void WriteIncompatibleFeatures()
    {
        if (_header.Version < 3)
        {
            return;
        }
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, _header.IncompatibleFeatures);
        _file.Write(Header.IncompatibleFeaturesOffset, b);
        _file.Flush();
    }

    /// <summary>Sets the corrupt bit on disk (qcow2_mark_corrupt rewrites the header).</summary>
    private void MarkCorrupt()
    {
        _header.IncompatibleFeatures |= Features.IncompatCorrupt;
        UpdateHeader();
    }

    /// <summary>Sets the dirty bit before the first lazy refcount update (qcow2_mark_dirty).</summary>
    private void MarkDirty()
    {
        if (Dirty || _header.Version < 3)
        {
            return;
        }
        _file.Flush();
        _header.IncompatibleFeatures |= Features.IncompatDirty;
        WriteIncompatibleFeatures();
    }

    /// <summary>Clears the dirty bit after the caches were flushed (qcow2_mark_clean).</summary>
    private void MarkClean()
    {
        _header.IncompatibleFeatures &= ~Features.IncompatDirty;
        _l2Cache.Flush();
        _refcounts.Cache.Flush();
        UpdateHeader();
    }

    /// <summary>Clears the corrupt bit once a repair made the image consistent (qcow2_mark_consistent).</summary>
    private void MarkConsistent()
    {
        if (!Corrupt)
        {
            return;
        }
        _l2Cache.Flush();
        _refcounts.Cache.Flush();
        _header.IncompatibleFeatures &= ~Features.IncompatCorrupt;
        UpdateHeader();
    }
}
