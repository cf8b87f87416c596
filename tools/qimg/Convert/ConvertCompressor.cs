using Qcow2.Block;
using Qcow2.Compression;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// The compressed writes of qemu-img convert -c as a bounded pipeline: the copy loop reads each cluster into one of a
/// fixed set of buffers (as many as -m allows requests in flight), the cluster is compressed on a worker thread
/// (<see cref="PackWorkers"/>, as qcow2_co_compress uses a thread pool), and the copy loop writes the compressed
/// clusters in guest order. Only the copy loop's thread touches the image, so allocation, L2 updates and the order of
/// metadata and data writes are those of a serial copy and the file is byte-identical to it (and to qemu-img's, which
/// also writes in order unless -W).
/// </summary>
internal sealed class ConvertCompressor : IDisposable
{
    private sealed record Pending(long Sector, byte[] Buffer, int Length, PackWorkers.Job Packed);

    private readonly Qcow2Image _target;
    private readonly PackWorkers _workers;
    private readonly int _clusterBytes;
    private readonly byte[][] _buffers;
    private readonly Queue<Pending> _pending = new();
    private readonly Stack<byte[]> _free = new();
    private int _made;
    private byte[]? _current;

    /// <summary>A pipeline writing into target, with at most inFlight clusters read but not yet written.</summary>
    public ConvertCompressor(Qcow2Image target, int inFlight)
    {
        _target = target;
        _clusterBytes = target.ClusterSize;
        _buffers = new byte[Math.Max(1, inFlight)][];
        _workers = new PackWorkers(PackWorkers.ThreadsFor(inFlight));
    }

    /// <summary>Lets the worker threads end.</summary>
    public void Dispose() => _workers.Dispose();

    /// <summary>The buffer for the next cluster (one cluster long); when every buffer is in flight, the oldest cluster is written first.</summary>
    public byte[] NextBuffer()
    {
        if (_current is not null)
        {
            return _current;
        }
        if (_free.Count == 0 && _made < _buffers.Length)
        {
            _free.Push(_buffers[_made++] = new byte[_clusterBytes]);
        }
        if (_free.Count == 0)
        {
            WriteOldest();
        }
        return _current = _free.Pop();
    }

    /// <summary>Hands the first length bytes of the buffer NextBuffer gave over for compression; they are written at sector later, in order.</summary>
    public void Submit(long sector, int length)
    {
        byte[] buffer = _current ?? throw new InvalidOperationException("no buffer to submit");
        _current = null;
        PackWorkers.Job packed = _workers.Start(() => _target.PackCluster(buffer.AsSpan(0, length)));
        _pending.Enqueue(new Pending(sector, buffer, length, packed));
    }

    /// <summary>Writes every cluster still in flight, in order (before any other write to the target, and at the end).</summary>
    public void Drain()
    {
        while (_pending.Count > 0)
        {
            WriteOldest();
        }
    }

    private void WriteOldest()
    {
        Pending p = _pending.Dequeue();
        try
        {
            _target.WriteCompressed(p.Sector * ConvertSectors.SectorSize, p.Buffer.AsSpan(0, p.Length), _workers.Wait(p.Packed));
        }
        catch (BlockIOException e)
        {
            // A serial copy stops at this cluster with this message: the clusters after it are never written.
            _pending.Clear();
            throw new QimgException($"error while writing at byte {p.Sector * ConvertSectors.SectorSize}: {ErrnoText.Of(e.Errno)}");
        }
        catch
        {
            _pending.Clear();
            throw;
        }
        finally
        {
            _free.Push(p.Buffer);
        }
    }
}
