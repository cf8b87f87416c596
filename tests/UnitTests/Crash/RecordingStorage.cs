using Qcow2.Storage;

namespace Qcow2.UnitTests.Crash;

/// <summary>One storage request as the engine issued it, in order: a write (zero writes become writes of zeros), a
/// length change, a discard or a flush barrier.</summary>
internal sealed record StorageOp(StorageOpKind Kind, long Offset, byte[] Data, long Length);

/// <summary>The kinds of request a crash can fall between.</summary>
internal enum StorageOpKind
{
    Write,
    SetLength,
    Discard,
    Flush,
}

/// <summary>
/// An in-memory store that records every request in order, so that a test can rebuild the file as it would be after a
/// crash at any point: after the Nth request (kill -9: everything the process wrote is in the page cache) or with the
/// requests since the last flush partly lost (power failure).
/// </summary>
internal sealed class RecordingStorage(byte[] initial) : IStorage
{
    private readonly MemoryStorage _inner = new(initial);

    /// <summary>The requests since the store was made.</summary>
    public List<StorageOp> Ops { get; } = [];

    /// <summary>The bytes the store started from.</summary>
    public byte[] Initial { get; } = (byte[])initial.Clone();

    public long Length => _inner.Length;

    public bool ReadOnly => false;

    public void Read(long offset, Span<byte> buffer) => _inner.Read(offset, buffer);

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        Ops.Add(new StorageOp(StorageOpKind.Write, offset, data.ToArray(), 0));
        _inner.Write(offset, data);
    }

    public void WriteZeroes(long offset, long length) => Write(offset, new byte[length]);

    public void SetLength(long length)
    {
        Ops.Add(new StorageOp(StorageOpKind.SetLength, 0, [], length));
        _inner.SetLength(length);
    }

    public void Discard(long offset, long length)
    {
        Ops.Add(new StorageOp(StorageOpKind.Discard, offset, [], length));
        _inner.Discard(offset, length);
    }

    public void Flush() => Ops.Add(new StorageOp(StorageOpKind.Flush, 0, [], 0));

    public void Dispose() { }

    /// <summary>The current contents.</summary>
    public byte[] ToArray() => _inner.ToArray();

    /// <summary>The file after replaying the requests whose indexes keep accepts, from the initial bytes.</summary>
    public byte[] Replay(Func<int, bool> keep)
    {
        var m = new MemoryStorage(Initial);
        for (int i = 0; i < Ops.Count; i++)
        {
            if (!keep(i))
            {
                continue;
            }
            var op = Ops[i];
            switch (op.Kind)
            {
                case StorageOpKind.Write:
                    m.Write(op.Offset, op.Data);
                    break;
                case StorageOpKind.SetLength:
                    m.SetLength(op.Length);
                    break;
                case StorageOpKind.Discard:
                    m.Discard(op.Offset, op.Length);
                    break;
            }
        }
        return m.ToArray();
    }
}
