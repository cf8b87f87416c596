namespace Qcow2.Tools.Mkimage;

/// <summary>One header extension as stored: type, declared length, and the data bytes (padded to 8) at DataOffset.</summary>
internal sealed record HeaderExtensionRecord(uint Magic, uint Length, byte[] Data, long DataOffset)
{
    /// <summary>The length rounded up to a multiple of 8, as the extension occupies it on disk.</summary>
    public long PaddedLength => ((long)Length + 7) & ~7L;

    /// <summary>The declared data (up to Length bytes; fewer when the file ends first).</summary>
    public ReadOnlySpan<byte> Payload => Data.AsSpan(0, (int)Math.Min(Data.Length, Length));
}

/// <summary>
/// Cluster 0 as qcow2.py models it: the header fields, the header extensions from header_length on, and the
/// backing file name. Update() rewrites it the way qcow2.py does: extensions from header_length, an end marker,
/// the backing file name right after it (moving backing_file_offset), then the header fields.
/// </summary>
internal sealed class HeaderArea
{
    /// <summary>Largest extension payload or backing file name read into memory; larger declared lengths are hostile.</summary>
    private const int MaxDataRead = 16 << 20;

    /// <summary>Size of an extension's type and length fields.</summary>
    private const int ExtensionHeaderSize = Qcow2.Format.HeaderExtension.HeaderSize;

    private HeaderArea(RawHeader header, List<HeaderExtensionRecord> extensions, byte[]? backingFile)
    {
        Header = header;
        Extensions = extensions;
        BackingFile = backingFile;
    }

    /// <summary>The header fields.</summary>
    public RawHeader Header { get; }

    /// <summary>The header extensions in file order (the end marker excluded).</summary>
    public List<HeaderExtensionRecord> Extensions { get; }

    /// <summary>The backing file name bytes, or null when backing_file_offset is 0.</summary>
    public byte[]? BackingFile { get; }

    /// <summary>Reads the header, the extensions and the backing file name from the file.</summary>
    public static HeaderArea Read(ImageFile file)
    {
        var h = RawHeader.Read(file);
        ulong end = h.BackingFileOffset != 0 ? Math.Min(h.ClusterSize, h.BackingFileOffset) : h.ClusterSize;
        var exts = new List<HeaderExtensionRecord>();
        ulong pos = h.HeaderLength;
        // qcow2.py walks until the area ends or the end marker; a file that ends first also ends the walk.
        while (pos < end && pos + ExtensionHeaderSize <= (ulong)file.Length)
        {
            var head = file.ReadPadded((long)pos, ExtensionHeaderSize);
            uint magic = (uint)BigEndian.Read(head.AsSpan(0, 4));
            uint length = (uint)BigEndian.Read(head.AsSpan(4, 4));
            if (magic == 0)
            {
                break;
            }
            long dataOffset = (long)pos + ExtensionHeaderSize;
            long padded = ((long)length + 7) & ~7L;
            var data = file.ReadAvailable(dataOffset, (int)Math.Min(padded, MaxDataRead));
            exts.Add(new HeaderExtensionRecord(magic, length, data, dataOffset));
            pos = (ulong)(dataOffset + padded);
        }
        byte[]? backing = null;
        if (h.BackingFileOffset != 0)
        {
            long at = h.BackingFileOffset > long.MaxValue ? long.MaxValue : (long)h.BackingFileOffset;
            backing = file.ReadAvailable(at, (int)Math.Min(h.Get("backing_file_size"), MaxDataRead));
        }
        return new HeaderArea(h, exts, backing);
    }

    /// <summary>Adds an extension at the end of the list.</summary>
    public void AddExtension(uint magic, byte[] data) =>
        Extensions.Add(new HeaderExtensionRecord(magic, (uint)data.Length, data, -1));

    /// <summary>Writes the extension area and the header back; refuses (changing nothing) when the result would not fit.</summary>
    public void Update(ImageFile file)
    {
        ulong start = Header.HeaderLength;
        int headerBytes = (int)Math.Min(start, (ulong)HeaderFields.PackedLength);
        if (start < Qcow2.Format.Header.V2Length)
        {
            throw new MkimageException(
                $"header_length {start} would put the header extensions inside the header fields; image not changed " +
                "(use poke header.FIELD to write single fields)");
        }
        var area = new MemoryStream();
        foreach (var ex in Extensions)
        {
            var head = new byte[ExtensionHeaderSize];
            BigEndian.Write(head.AsSpan(0, 4), ex.Magic);
            BigEndian.Write(head.AsSpan(4, 4), ex.Length);
            area.Write(head);
            var padded = new byte[ex.PaddedLength];
            ex.Data.AsSpan(0, (int)Math.Min(ex.Data.Length, padded.Length)).CopyTo(padded);
            area.Write(padded);
        }
        area.Write(new byte[ExtensionHeaderSize]);
        if (BackingFile != null)
        {
            Header.Set("backing_file_offset", start + (ulong)area.Length);
            area.Write(BackingFile);
        }
        ulong areaEnd = start + (ulong)area.Length;
        if (areaEnd > Header.ClusterSize)
        {
            throw new MkimageException(
                $"the header extensions{(BackingFile != null ? " and the backing file name" : "")} would end at " +
                $"0x{areaEnd:x}, past the end of cluster 0 (cluster size 0x{Header.ClusterSize:x}); image not changed " +
                "(use poke header.FIELD to write single fields)");
        }
        file.Write((long)start, area.ToArray());
        file.Write(0, Header.Pack().AsSpan(0, headerBytes));
    }
}
