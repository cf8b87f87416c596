using Qcow2.Storage;

namespace Qcow2.Block;

/// <summary>The raw driver's offset and size options: a window of the file (raw_read_options, raw_apply_options).</summary>
internal sealed class WindowStorage(IStorage inner, long offset, long? size) : IStorage
{
    /// <summary>Checks the options against the file as raw_apply_options does and makes the window, or throws QEMU's error.</summary>
    public static IStorage Open(IStorage inner, IReadOnlyDictionary<string, string> options)
    {
        ulong offset = options.TryGetValue("offset", out string? o) ? Overlap.QemuOptionSyntax.ParseSize("offset", o) : 0;
        ulong? size = options.TryGetValue("size", out string? z) ? Overlap.QemuOptionSyntax.ParseSize("size", z) : null;
        if (offset == 0 && size is null)
        {
            return inner;
        }
        ulong real = (ulong)inner.Length;
        if (offset > real)
        {
            throw new ImageOpenException($"Offset ({offset}) cannot be greater than size of the containing file ({real})", Errno.EINVAL);
        }
        if (size is { } s && (s > real || offset > real - s))
        {
            throw new ImageOpenException($"The sum of offset ({offset}) and size ({s}) has to be smaller or equal to the  actual size of the containing file ({real})", Errno.EINVAL);
        }
        if (size is { } t && t % 512 != 0)
        {
            throw new ImageOpenException("Specified size is not multiple of 512", Errno.EINVAL);
        }
        return new WindowStorage(inner, (long)offset, (long?)size);
    }

    public long Length => size ?? Math.Max(0, inner.Length - offset);

    /// <summary>Where the window starts in the store underneath (raw's offset option).</summary>
    public long Offset => offset;

    /// <summary>The store underneath.</summary>
    public IStorage Inner => inner;

    public bool ReadOnly => inner.ReadOnly;

    public long AllocatedSize => inner.AllocatedSize;

    public void Read(long at, Span<byte> buffer)
    {
        int n = (int)Math.Clamp(Length - at, 0, buffer.Length);
        inner.Read(offset + at, buffer[..n]);
        buffer[n..].Clear();
    }

    public void Write(long at, ReadOnlySpan<byte> data)
    {
        if (size is not null && at + data.Length > size)
        {
            throw new BlockIOException(Errno.EIO);
        }
        inner.Write(offset + at, data);
    }

    public void SetLength(long length)
    {
        if (size is not null)
        {
            throw new BlockIOException(Errno.ENOTSUP);
        }
        inner.SetLength(offset + length);
    }

    public void Flush() => inner.Flush();

    public void Discard(long at, long length) => inner.Discard(offset + at, length);

    public void DebugEvent(string name) => inner.DebugEvent(name);

    /// <inheritdoc/>
    public long RequestAlignment => inner.RequestAlignment;

    public void Dispose() => inner.Dispose();
}
