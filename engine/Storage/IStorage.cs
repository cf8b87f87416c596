namespace Qcow2.Storage;

/// <summary>Byte-addressed backing store of an image: every read and write of the engine goes through one of these.</summary>
public interface IStorage : IDisposable
{
    /// <summary>Current length in bytes.</summary>
    long Length { get; }

    /// <summary>Whether writes are refused.</summary>
    bool ReadOnly { get; }

    /// <summary>Reads into buffer; bytes past the end read as zeros.</summary>
    void Read(long offset, Span<byte> buffer);

    /// <summary>Writes data, growing the store when it ends past the current length.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Sets the length, growing with zeros or cutting.</summary>
    void SetLength(long length);

    /// <summary>Makes written data durable.</summary>
    void Flush();

    /// <summary>Releases a byte range (a hint; reads of it may return zeros or the old data).</summary>
    void Discard(long offset, long length) { }

    /// <summary>Writes zeros over a range as the host's efficient zero write does (fallocate zero range), growing the store like Write.</summary>
    void WriteZeroes(long offset, long length)
    {
        var zeros = new byte[Math.Min(length, 1 << 20)];
        for (long done = 0; done < length; done += zeros.Length)
        {
            Write(offset + done, zeros.AsSpan(0, (int)Math.Min(zeros.Length, length - done)));
        }
    }

    /// <summary>A zero write that may deallocate (BDRV_REQ_MAY_UNMAP), for stores over a node that can; others write zeros.</summary>
    void WriteZeroes(long offset, long length, bool mayUnmap) => WriteZeroes(offset, length);

    /// <summary>Grows the store to end at offset + length with that range allocated on disk (preallocation=falloc).</summary>
    void Allocate(long offset, long length)
    {
        if (Length < offset + length)
        {
            SetLength(offset + length);
        }
    }

    /// <summary>A named point in the driver's work (QEMU's BLKDBG_EVENT), where a blkdebug layer may inject errors or suspend.</summary>
    void DebugEvent(string name) { }

    /// <summary>The store's request alignment (bs->bl.request_alignment): a blkdebug layer's align option, else 1.</summary>
    long RequestAlignment => 1;

    /// <summary>Bytes the store occupies on its medium, as `du` would count them.</summary>
    long AllocatedSize => Length;
}
