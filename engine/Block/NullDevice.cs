namespace Qcow2.Block;

/// <summary>
/// QEMU's null-co and null-aio protocol drivers: a device of the given size (1 GiB unless size says otherwise, in whole
/// sectors) that drops writes and, unless read-zeroes=on, leaves the reader's buffer as it was.
/// </summary>
public sealed class NullDevice : BlockDevice
{
    private static readonly string[] Own = ["size", "latency-ns", "read-zeroes"];
    private readonly long _size;
    private readonly bool _readZeroes;
    private readonly string _driver;

    private NullDevice(string driver, long size, bool readZeroes)
    {
        _driver = driver;
        _size = size;
        _readZeroes = readZeroes;
    }

    /// <summary>null_file_open: size, latency-ns and read-zeroes, then QEMU's refusal of any other option.</summary>
    public static NullDevice Open(string driver, IReadOnlyDictionary<string, string> options)
    {
        ulong size = options.TryGetValue("size", out string? s) ? Overlap.QemuOptionSyntax.ParseSize("size", s) : 1UL << 30;
        if (options.TryGetValue("latency-ns", out string? latency))
        {
            BlockOptions.ParseNumber("latency-ns", latency);
        }
        bool zeroes = options.TryGetValue("read-zeroes", out string? z) && Overlap.QemuOptionSyntax.ParseBool("read-zeroes", z);
        foreach (string key in Overlap.QemuOptionSyntax.InQdictOrder(options.Keys))
        {
            if (!Own.Contains(key) && !BlockOptions.IsNodeOption(key))
            {
                throw new ImageOpenException($"Block protocol '{driver}' doesn't support the option '{key}'");
            }
        }
        return new NullDevice(driver, (long)Math.Min(size, (ulong)long.MaxValue), zeroes) { FileName = driver + "://" };
    }

    /// <inheritdoc/>
    public override string FormatName => _driver;

    /// <summary>The size in whole 512-byte sectors, as bdrv_getlength reports it.</summary>
    public override long Size => (_size + 511) / 512 * 512;

    /// <inheritdoc/>
    public override bool ReadOnly => false;

    /// <inheritdoc/>
    public override bool IsProtocol => true;

    /// <inheritdoc/>
    public override long ActualSize => 0;

    /// <inheritdoc/>
    public override void Read(long offset, Span<byte> buffer)
    {
        ThrowUnlessInRange(offset, buffer.Length);
        if (_readZeroes)
        {
            buffer.Clear();
        }
    }

    /// <inheritdoc/>
    public override void Write(long offset, ReadOnlySpan<byte> data) => ThrowUnlessInRange(offset, data.Length);

    /// <inheritdoc/>
    public override void WriteZeroes(long offset, long length, bool mayUnmap) => ThrowUnlessInRange(offset, length);

    /// <inheritdoc/>
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data) => throw new BlockIOException(Errno.ENOTSUP);

    /// <inheritdoc/>
    public override void Discard(long offset, long length) => ThrowUnlessInRange(offset, length);

    /// <summary>null-co cannot be resized (bdrv_co_truncate's message for a driver without truncate).</summary>
    public override void Resize(long newSize, bool shrink) =>
        throw new ImageOpenException("Image format driver does not support resize", Errno.ENOTSUP);

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <summary>null_co_block_status: nothing allocated, zeros when read-zeroes is on.</summary>
    public override BlockStatus GetStatus(long offset, long length) =>
        new(offset, Math.Min(length, Size - offset), Allocated: _readZeroes, Data: false, Zero: _readZeroes, Depth: 0, HostOffset: offset);

    /// <inheritdoc/>
    public override void Dispose()
    {
    }
}
