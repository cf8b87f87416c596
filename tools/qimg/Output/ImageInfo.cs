using System.Globalization;
using System.Text;
using Qcow2.Block;
using Qcow2.Cli;
using Qcow2.Snapshots;

namespace Qcow2.Tools.Qimg;

/// <summary>What qemu-img info reports about one image (QAPI ImageInfo), built from an opened device.</summary>
public sealed class ImageInfo
{
    /// <summary>File name as given.</summary>
    public required string Filename { get; init; }

    /// <summary>Driver name.</summary>
    public required string Format { get; init; }

    /// <summary>Whether the image is marked dirty.</summary>
    public bool? DirtyFlag { get; init; }

    /// <summary>Bytes the file occupies on disk.</summary>
    public long? ActualSize { get; init; }

    /// <summary>Guest-visible size.</summary>
    public long VirtualSize { get; init; }

    /// <summary>Whether guest data is encrypted.</summary>
    public bool Encrypted { get; init; }

    /// <summary>Cluster size, for formats that have one.</summary>
    public long? ClusterSize { get; init; }

    /// <summary>Backing file name as stored in the image.</summary>
    public string? BackingFilename { get; init; }

    /// <summary>Backing file name resolved against the image's directory.</summary>
    public string? FullBackingFilename { get; init; }

    /// <summary>Backing format as stored in the image.</summary>
    public string? BackingFilenameFormat { get; init; }

    /// <summary>Internal snapshots (null when there are none).</summary>
    public IReadOnlyList<SnapshotInfo>? Snapshots { get; init; }

    /// <summary>The "format-specific" member: type and data.</summary>
    public QDict? FormatSpecific { get; init; }

    /// <summary>Collects the information of an opened image, as bdrv_query_image_info does: filename is the node's name
    /// (bs->filename), fileName the image file's, against which a relative backing file name resolves.</summary>
    public static ImageInfo Query(BlockDevice dev, string filename, string? fileName = null)
    {
        if (dev is Qcow2Image q)
        {
            return new ImageInfo
            {
                Filename = filename,
                Format = dev.FormatName,
                DirtyFlag = q.Dirty,
                ActualSize = AllocatedSize(dev),
                VirtualSize = dev.Size,
                ClusterSize = q.ClusterSize,
                Encrypted = q.Encrypted,
                BackingFilename = q.BackingFileName,
                FullBackingFilename = q.BackingFileName is null ? null : ImageArgs.CombineBackingPath(fileName ?? filename, q.BackingFileName),
                BackingFilenameFormat = q.BackingFormat,
                Snapshots = q.Snapshots.Count > 0 ? q.Snapshots : null,
                FormatSpecific = new QDict().Add("type", "qcow2").Add("data", Qcow2Specific(q)),
            };
        }
        return new ImageInfo
        {
            Filename = filename,
            Format = dev.FormatName,
            ActualSize = AllocatedSize(dev),
            // bdrv_get_info: a driver without it (null-co) reports no dirty flag.
            DirtyFlag = dev.Info is null ? null : false,
            // bdrv_get_info: raw and filters pass the question to the node underneath (a qcow2's cluster size).
            ClusterSize = dev.Info is { ClusterSize: > 0 } i ? i.ClusterSize : null,
            VirtualSize = ChainStatus.QemuLength(dev),
            Encrypted = dev is LuksDevice,
            FormatSpecific = dev is LuksDevice luks
                ? new QDict().Add("type", "luks").Add("data", EncryptionInfo.Specific(luks))
                : null,
        };
    }

    /// <summary>bdrv_get_allocated_file_size: unknown (null) over a blkdebug node, a protocol driver that does not say.</summary>
    private static long? AllocatedSize(BlockDevice dev) => dev.Blkdebug is null ? dev.ActualSize : null;

    /// <summary>ImageInfoSpecificQCow2 as qcow2_get_specific_info fills it (members in schema order).</summary>
    public static QDict Qcow2Specific(Qcow2Image q)
    {
        var d = new QDict();
        if (q.Header.Version == 2)
        {
            d.Add("compat", "0.10");
            d.Add("refcount-bits", (long)q.RefcountBits);
            d.AddIf("encrypt", EncryptionInfo.For(q));
            d.Add("compression-type", q.CompressionTypeName);
            return d;
        }
        d.Add("compat", "1.1");
        if (q.DataFileName is not null)
        {
            d.Add("data-file", q.DataFileName);
        }
        if (q.HasDataFile)
        {
            d.Add("data-file-raw", q.DataFileRaw);
        }
        d.Add("extended-l2", q.ExtendedL2);
        d.Add("lazy-refcounts", q.LazyRefcounts);
        d.Add("corrupt", q.Corrupt);
        d.Add("refcount-bits", (long)q.RefcountBits);
        d.AddIf("encrypt", EncryptionInfo.For(q));
        var bitmaps = q.GetBitmapInfo();
        if (bitmaps.Count > 0)
        {
            d.Add("bitmaps", bitmaps.Select(b => (object)new QDict()
                .Add("name", b.Name)
                .Add("granularity", b.Granularity)
                .Add("flags", b.Flags.Cast<object>().ToList())).ToList());
        }
        d.Add("compression-type", q.CompressionTypeName);
        return d;
    }

    /// <summary>The QAPI ImageInfo object (members in schema order; printed in qemu's hash order).</summary>
    public QDict ToQDict()
    {
        var d = new QDict()
            .Add("filename", Filename)
            .Add("format", Format)
            .AddIf("dirty-flag", DirtyFlag)
            .AddIf("actual-size", ActualSize)
            .Add("virtual-size", VirtualSize)
            .AddIf("cluster-size", ClusterSize)
            .AddIf("encrypted", Encrypted ? true : null)
            .AddIf("backing-filename", BackingFilename)
            .AddIf("full-backing-filename", FullBackingFilename)
            .AddIf("backing-filename-format", BackingFilenameFormat);
        if (Snapshots is not null)
        {
            d.Add("snapshots", Snapshots.Select(SnapshotToQDict).Cast<object>().ToList());
        }
        d.AddIf("format-specific", FormatSpecific);
        return d;
    }

    private static QDict SnapshotToQDict(SnapshotInfo s)
    {
        var d = new QDict()
            .Add("id", s.Id)
            .Add("name", s.Name)
            .Add("vm-state-size", (long)s.VmStateSize)
            .Add("date-sec", (long)s.DateSec)
            .Add("date-nsec", (long)s.DateNsec)
            .Add("vm-clock-sec", (long)(s.VmClockNsec / 1_000_000_000))
            .Add("vm-clock-nsec", (long)(s.VmClockNsec % 1_000_000_000));
        if (s.Icount is ulong icount)
        {
            d.Add("icount", (long)icount);
        }
        return d;
    }

    /// <summary>bdrv_image_info_dump: the human form of qemu-img info.</summary>
    public string ToHuman()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"image: {Filename}\n");
        sb.Append(CultureInfo.InvariantCulture, $"file format: {Format}\n");
        sb.Append(CultureInfo.InvariantCulture, $"virtual size: {HumanSize.Format((ulong)VirtualSize)} ({VirtualSize} bytes)\n");
        sb.Append(CultureInfo.InvariantCulture, $"disk size: {(ActualSize is long a ? HumanSize.Format((ulong)a) : "unavailable")}\n");
        if (Encrypted)
        {
            sb.Append("encrypted: yes\n");
        }
        if (ClusterSize is long cs)
        {
            sb.Append(CultureInfo.InvariantCulture, $"cluster_size: {cs}\n");
        }
        if (DirtyFlag == true)
        {
            sb.Append("cleanly shut down: no\n");
        }
        if (BackingFilename is not null)
        {
            sb.Append("backing file: ").Append(BackingFilename);
            if (FullBackingFilename is null)
            {
                sb.Append(" (cannot determine actual path)");
            }
            else if (FullBackingFilename != BackingFilename)
            {
                sb.Append(" (actual path: ").Append(FullBackingFilename).Append(')');
            }
            sb.Append('\n');
        }
        if (BackingFilenameFormat is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"backing file format: {BackingFilenameFormat}\n");
        }
        if (Snapshots is not null)
        {
            sb.Append("Snapshot list:\n");
            sb.Append(SnapshotTable.Header()).Append('\n');
            foreach (SnapshotInfo s in Snapshots)
            {
                sb.Append(SnapshotTable.Row(s)).Append('\n');
            }
        }
        if (FormatSpecific is not null)
        {
            sb.Append("Format specific information:\n");
            object data = FormatSpecific.Entries.First(kv => kv.Key == "data").Value;
            QJson.DumpHuman(sb, data, 1);
        }
        return sb.ToString();
    }
}
