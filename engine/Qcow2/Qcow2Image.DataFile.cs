using System.Text;
using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2;

/// <summary>
/// External data files (QCOW2_INCOMPAT_DATA_FILE): guest data clusters live in a separate file at the guest offset
/// itself, while the L1/L2 tables, refcounts and every other structure stay in the qcow2 file. Data clusters are not
/// refcounted, and the overlap checks, which guard the metadata, never look at data-file offsets.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>The open data file, or null when guest data lives in the qcow2 file itself.</summary>
    private IStorage? _dataFile;

    /// <summary>The data file name from the header extension (s->image_data_file), or null.</summary>
    public string? DataFileName { get; private set; }

    /// <summary>The name the data file was opened by (the data-file.filename option, else the stored name), or null.</summary>
    public string? DataFileOpenedName { get; private set; }

    /// <summary>Whether the image has the external data file bit.</summary>
    public bool HasDataFile => (_header.IncompatibleFeatures & Features.IncompatDataFile) != 0;

    /// <summary>Whether the data file is kept valid as a raw image (autoclear bit data-file-raw).</summary>
    public bool DataFileRaw => (_header.AutoclearFeatures & Features.AutoclearDataFileRaw) != 0;

    /// <summary>Where guest data clusters are read and written (s->data_file).</summary>
    private IStorage DataStorage => _dataFile ?? _file;

    /// <summary>The open option that names the data file node ("data-file" as a node name, or "data-file.filename").</summary>
    private const string DataFileOption = "data-file";

    /// <summary>Opens the data file after the extensions were read, in qcow2_do_open's order and with its messages.</summary>
    private void OpenDataFile()
    {
        if (_options.NoIo)
        {
            // qemu-img info (no I/O) neither checks the data-file option nor needs the data file to exist.
            OpenDataFileForInfo();
            return;
        }
        var opts = _options.Options;
        string? fromOption = DataFileFromOptions(opts);
        if (!HasDataFile)
        {
            if (fromOption is not null)
            {
                throw new ImageOpenException("'data-file' can only be set for images with an external data file", Errno.EINVAL);
            }
            if (DataFileRaw)
            {
                throw new ImageOpenException("data-file-raw requires a data file", Errno.EINVAL);
            }
            return;
        }
        string? name = fromOption ?? DataFileName;
        if (name is null)
        {
            throw new ImageOpenException("'data-file' is required for this image", Errno.EINVAL);
        }
        _dataFile = OpenDataStorage(name);
        DataFileOpenedName = name;
    }

    /// <summary>The data file of a metadata-only open, when it can be opened (map and info name it).</summary>
    private void OpenDataFileForInfo()
    {
        string? name = _options.Options.TryGetValue(DataFileOption + ".filename", out string? f) ? f : DataFileName;
        if (!HasDataFile || name is null)
        {
            return;
        }
        try
        {
            _dataFile = OpenDataStorage(name);
            DataFileOpenedName = name;
        }
        catch (ImageOpenException)
        {
            // Nothing is read from it.
        }
    }

    /// <summary>The data file named by open options: data-file.filename (a file node), or refuses a node reference.</summary>
    private static string? DataFileFromOptions(IReadOnlyDictionary<string, string> opts)
    {
        if (opts.TryGetValue(DataFileOption, out string? node))
        {
            // Our tools have no named nodes to refer to: QEMU's bdrv_lookup_bs text.
            throw new ImageOpenException($"Cannot find device='{node}' nor node-name='{node}'", Errno.EINVAL);
        }
        return opts.TryGetValue(DataFileOption + ".filename", out string? f) ? f : null;
    }

    /// <summary>Opens the data file storage. QEMU 7.2 opens the stored name as it stands, relative to the working
    /// directory and not to the image's directory, and names it so in its errors.</summary>
    private IStorage OpenDataStorage(string display)
    {
        string path = Path.GetFullPath(display, _options.BaseDirectory);
        try
        {
            return new FileStorage(path, _readOnly, locking: false) { NoFlush = _options.NoFlush };
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageOpenException($"Could not open '{display}': No such file or directory", Errno.ENOENT);
        }
        catch (UnauthorizedAccessException)
        {
            throw new ImageOpenException($"Could not open '{display}': Permission denied", Errno.EACCES);
        }
        catch (IOException e)
        {
            throw new ImageOpenException($"Could not open '{display}': {e.Message}", (Errno)(e.HResult & 0xffff));
        }
    }

    /// <summary>Reads the external data file name extension.</summary>
    private void ReadDataFileExtension(byte[] data) => DataFileName = Encoding.UTF8.GetString(data);

    /// <summary>The data file name extension qcow2_update_header writes after the backing format.</summary>
    private void WriteDataFileExtension(List<byte> buf)
    {
        if (DataFileName is not null)
        {
            new HeaderExtension(HeaderExtension.DataFile, Encoding.UTF8.GetBytes(DataFileName)).WriteTo(buf);
        }
    }

    /// <summary>The overlap check before a guest data write: offsets in a data file are not metadata offsets.</summary>
    private void DataPreWriteOverlapCheck(long offset, long size)
    {
        if (!HasDataFile)
        {
            PreWriteOverlapCheck(Overlap.OverlapTypes.None, offset, size);
        }
    }

    /// <summary>qcow2_subcluster_zeroize: a raw data file is zeroed too, so that it stays valid as a raw image.</summary>
    private void ZeroRawDataFile(long offset, long bytes)
    {
        if (_dataFile is not null && DataFileRaw && bytes > 0)
        {
            var zeros = new byte[Math.Min(bytes, 1 << 20)];
            for (long done = 0; done < bytes; done += zeros.Length)
            {
                _dataFile.Write(offset + done, zeros.AsSpan(0, (int)Math.Min(zeros.Length, bytes - done)));
            }
        }
    }

    /// <summary>qcow2_free_any_cluster with a data file: no refcounts to drop, the cluster is discarded in the data file
    /// where discards of its kind pass through.</summary>
    private void DiscardDataCluster(long hostOffset, DiscardType type)
    {
        if (_dataFile is null || !Refcounts.DiscardPassthrough(type))
        {
            return;
        }
        try
        {
            _dataFile.Discard(StartOfCluster(hostOffset), _clusterSize);
        }
        catch (BlockIOException)
        {
            // Discards are advisory; QEMU ignores their failure.
        }
    }

    /// <summary>Marks a freshly formatted image as using the named data file (qcow2_co_create).</summary>
    private void SetDataFile(string? name, bool raw)
    {
        if (name is null)
        {
            return;
        }
        DataFileName = name;
        _header.IncompatibleFeatures |= Features.IncompatDataFile;
        if (raw)
        {
            _header.AutoclearFeatures |= Features.AutoclearDataFileRaw;
        }
    }

    /// <summary>
    /// The rest of qcow2_co_create with a data file: the size set grows the data file to the virtual size, and
    /// data-file-raw (which needs every guest cluster mapped to the same offset) or any preallocation maps every cluster.
    /// </summary>
    private static void CreateDataFileContents(string path, Qcow2CreateOptions o, OpenOptions openOptions)
    {
        openOptions.Options[DataFileOption + ".filename"] = o.DataFilePath ?? Path.GetFullPath(o.DataFile!);
        using var img = (Qcow2Image)ImageOpener.Open(path, openOptions);
        var data = img._dataFile!;
        if (data.Length < o.Size)
        {
            data.SetLength(o.Size);
        }
        if (o.DataFileRaw || o.Preallocation != "off")
        {
            img.PreallocateMetadata(0, o.Size);
        }
    }

    /// <summary>An L2 entry's type as this image reads it (offset 0 is a data offset with a data file).</summary>
    private ClusterType TypeOf(ulong l2Entry) => HasDataFile ? new L2Entry(l2Entry).TypeWithDataFile : new L2Entry(l2Entry).Type;
}
