using Qcow2.Storage;

namespace Qcow2.UnitTests.Support;

/// <summary>A store that passes every request to another one and counts the read requests and the bytes written.</summary>
internal sealed class CountingStorage(IStorage inner) : IStorage
{
    /// <summary>Read requests that reached the inner store.</summary>
    public int Reads { get; private set; }

    /// <summary>Bytes written through this store.</summary>
    public long Written { get; private set; }

    public long Length => inner.Length;

    public bool ReadOnly => inner.ReadOnly;

    public void Read(long offset, Span<byte> buffer)
    {
        Reads++;
        inner.Read(offset, buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        Written += data.Length;
        inner.Write(offset, data);
    }

    public void SetLength(long length) => inner.SetLength(length);

    public void Flush() => inner.Flush();

    public void Dispose() => inner.Dispose();
}
