using Qcow2.Storage;

namespace Qcow2.Block;

/// <summary>The raw format: guest offset equals file offset.</summary>
public sealed class RawDevice : BlockDevice
{
    private readonly IStorage _storage;

    /// <summary>Wraps a store as a raw image.</summary>
    public RawDevice(IStorage storage) => _storage = storage;

    /// <summary>
    /// Set when the format was probed rather than given: as in QEMU, a write that would make block 0 look like another
    /// format (a qcow2 header, say) is refused with EPERM, so that the next probe cannot turn guest data into an image
    /// header that names other files.
    /// </summary>
    public bool Probed { get; init; }

    /// <inheritdoc/>
    public override IBlkdebugControl? Blkdebug => _storage as IBlkdebugControl;

    /// <summary>The driver's name: "raw", or "file" for a file protocol node opened as the image itself.</summary>
    public string Driver { get; init; } = "raw";

    /// <inheritdoc/>
    public override string FormatName => Driver;

    /// <summary>raw_get_info passes the question to the node underneath; a file answers zeros.</summary>
    public override NodeInfo? Info => _storage is DeviceStorage { Node: var node } ? node.Info : new NodeInfo(0, 0);

    /// <inheritdoc/>
    public override bool IsProtocol => Driver == "file";

    /// <summary>Where guest offset 0 lies in the node underneath (raw's offset option; 0 without one).</summary>
    public long WindowOffset => _storage is WindowStorage w ? w.Offset : 0;

    /// <summary>The node underneath when it is not the image file itself (raw over a qcow2, a filter, null-co), else null.</summary>
    public BlockDevice? Child => (_storage is WindowStorage w ? w.Inner : _storage) is DeviceStorage d ? d.Node : null;

    /// <summary>The file's length rounded up to whole 512-byte sectors, as QEMU's bdrv_getlength reports it (the tail reads as zeros).</summary>
    public override long Size => (_storage.Length + 511) / 512 * 512;

    /// <inheritdoc/>
    public override bool ReadOnly => _storage.ReadOnly;

    /// <inheritdoc/>
    public override long ActualSize => _storage.AllocatedSize;

    /// <summary>Refuses a write over the first sector of a probed image when the sector would then probe as another format.</summary>
    private void CheckBlockZero(long offset, long length, ReadOnlySpan<byte> data, bool zeroes)
    {
        if (!Probed || length == 0 || offset >= FormatSniffer.ProbeBytes)
        {
            return;
        }
        // QEMU aligns such writes to 512 bytes (read-modify-write) and probes the resulting first sector.
        var head = new byte[FormatSniffer.ProbeBytes];
        _storage.Read(0, head.AsSpan(0, (int)Math.Min(head.Length, _storage.Length)));
        int n = (int)Math.Min(length, head.Length - offset);
        if (zeroes)
        {
            head.AsSpan((int)offset, n).Clear();
        }
        else
        {
            data[..n].CopyTo(head.AsSpan((int)offset));
        }
        if (FormatSniffer.Sniff(head) != "raw")
        {
            throw new BlockIOException(Errno.EPERM);
        }
    }

    /// <inheritdoc/>
    public override void Read(long offset, Span<byte> buffer)
    {
        ThrowUnlessInRange(offset, buffer.Length);
        _storage.Read(offset, buffer);
    }

    /// <inheritdoc/>
    public override void Write(long offset, ReadOnlySpan<byte> data)
    {
        ThrowIfReadOnly();
        ThrowUnlessInRange(offset, data.Length);
        CheckBlockZero(offset, data.Length, data, zeroes: false);
        _storage.Write(offset, data);
    }

    /// <inheritdoc/>
    public override void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        ThrowIfReadOnly();
        ThrowUnlessInRange(offset, length);
        CheckBlockZero(offset, length, default, zeroes: true);
        if (_storage is DeviceStorage { Node: var node })
        {
            node.WriteZeroes(offset, length, mayUnmap);
            return;
        }
        var zeros = new byte[Math.Min(length, 1 << 20)];
        for (long done = 0; done < length; done += zeros.Length)
        {
            _storage.Write(offset + done, zeros.AsSpan(0, (int)Math.Min(zeros.Length, length - done)));
        }
    }

    /// <inheritdoc/>
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data) => throw new BlockIOException(Errno.ENOTSUP);

    /// <inheritdoc/>
    public override void Discard(long offset, long length)
    {
        ThrowIfReadOnly();
        ThrowUnlessInRange(offset, length);
        _storage.Discard(offset, length);
    }

    /// <inheritdoc/>
    public override void Flush() => _storage.Flush();

    /// <inheritdoc/>
    public override BlockStatus GetStatus(long offset, long length)
    {
        if (_storage is DeviceStorage { Node: var node })
        {
            // raw_co_block_status answers BDRV_BLOCK_RAW: the node underneath says what is there.
            return node.GetStatus(offset, Math.Min(length, Size - offset));
        }
        long n = Math.Min(length, Size - offset);
        return new BlockStatus(offset, n, Allocated: true, Data: true, Zero: false, Depth: 0, HostOffset: offset, LayerFileName: FileName);
    }

    /// <inheritdoc/>
    public override void Resize(long newSize, bool shrink) => _storage.SetLength(newSize);

    /// <summary>A write from the node above: it may grow the file, as the block layer lets a parent write past a node's end.</summary>
    internal override void WriteFromParent(long offset, ReadOnlySpan<byte> data) => _storage.Write(offset, data);

    /// <inheritdoc/>
    public override void Dispose() => _storage.Dispose();
}
