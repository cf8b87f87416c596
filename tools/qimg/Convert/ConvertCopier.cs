using Qcow2.Block;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// The copy loop of qemu-img convert (convert_do_copy and its helpers), run in order on one thread: the sources are
/// walked in runs of like block status (data, zero, or left to the target's backing file), data runs are read in
/// buffers and written with sparse detection, zero runs are skipped on a zero-initialised target or written as zeroes.
/// With -c the clusters are compressed ahead on worker threads (<see cref="ConvertCompressor"/>) and still written
/// in order by this thread.
/// </summary>
public sealed class ConvertCopier
{
    /// <summary>IO_BUF_SIZE in sectors: the default copy buffer (2 MiB).</summary>
    public const int DefaultBufSectors = 2 * 1024 * 1024 / ConvertSectors.SectorSize;

    /// <summary>MAX_BUF_SECTORS: the largest copy buffer and sparse size (16 MiB).</summary>
    public const int MaxBufSectors = 32768;

    /// <summary>BDRV_REQUEST_MAX_SECTORS: the longest block status query.</summary>
    private const long RequestMaxSectors = int.MaxValue / ConvertSectors.SectorSize;

    private enum BlockKind
    {
        Data,
        Zero,
        BackingFile,
    }

    private readonly IReadOnlyList<ConvertSource> _sources;
    private readonly BlockDevice _target;
    private readonly ConvertProgress _progress;
    private ConvertCompressor? _compressor;
    private BlockKind _status;
    private long _sectorNextStatus;
    private long _allocatedSectors;
    private long _allocatedDone;

    /// <summary>Sets up a copy from the concatenated sources to the opened target.</summary>
    public ConvertCopier(IReadOnlyList<ConvertSource> sources, BlockDevice target, ConvertProgress progress)
    {
        _sources = sources;
        _target = target;
        _progress = progress;
        TotalSectors = sources.Sum(s => s.Sectors);
    }

    /// <summary>Sum of the sources' lengths in sectors.</summary>
    public long TotalSectors { get; }

    /// <summary>Whether the target is known to read as zeros (new image, or --target-is-zero).</summary>
    public bool HasZeroInit { get; set; }

    /// <summary>Write compressed clusters (-c).</summary>
    public bool Compressed { get; init; }

    /// <summary>-m: requests in flight; with -c, the clusters read ahead of the one being written (1 to 16).</summary>
    public int Coroutines { get; init; } = 8;

    /// <summary>Whether the target has a backing file (-B or -o backing_file).</summary>
    public bool TargetHasBacking { get; init; }

    /// <summary>Length of the target's backing file in sectors, or negative when unknown.</summary>
    public long TargetBackingSectors { get; init; } = -1;

    /// <summary>Sparse detection size in sectors (-S); 0 writes everything.</summary>
    public int MinSparse { get; init; } = 8;

    /// <summary>Write alignment in sectors for sparse detection.</summary>
    public int Alignment { get; init; } = 8;

    /// <summary>The target's cluster size in sectors (0 when it has none).</summary>
    public int ClusterSectors { get; init; }

    /// <summary>Copy buffer size in sectors.</summary>
    public int BufSectors { get; set; } = DefaultBufSectors;

    /// <summary>Keep going past read errors (--salvage).</summary>
    public bool Salvage { get; init; }

    /// <summary>Copy offloading (-C): data runs are copied whole, until a run that cannot be offloaded turns it off.</summary>
    public bool CopyRange { get; set; }

    /// <summary>Quiet mode: no salvage warnings.</summary>
    public bool Quiet { get; init; }

    /// <summary>Where warnings go.</summary>
    public required TextWriter Err { get; init; }

    /// <summary>convert_do_copy: counts the sectors to copy for the progress meter, then copies; throws QimgException on failure.</summary>
    public void Run()
    {
        if (Compressed)
        {
            if (ClusterSectors <= 0 || ClusterSectors > BufSectors)
            {
                throw new QimgException("invalid cluster size");
            }
            BufSectors = ClusterSectors;
            _compressor = _target is Qcow2Image q ? new ConvertCompressor(q, Coroutines) : null;
        }
        for (long sector = 0; sector < TotalSectors;)
        {
            int n = IterationSectors(sector);
            if (_status == BlockKind.Data || (MinSparse == 0 && _status == BlockKind.Zero))
            {
                _allocatedSectors += n;
            }
            sector += n;
        }
        _sectorNextStatus = 0;
        try
        {
            Copy();
            _compressor?.Drain();
        }
        catch (Exception) when (_compressor is not null)
        {
            // Whatever stopped the copy happened after the clusters in flight, which a serial copy has written by then.
            _compressor.Drain();
            throw;
        }
        finally
        {
            _compressor?.Dispose();
        }
    }

    /// <summary>The copy pass of convert_do_copy.</summary>
    private void Copy()
    {
        byte[]? shared = _compressor is null ? new byte[(long)BufSectors * ConvertSectors.SectorSize] : null;
        for (long sector = 0; sector < TotalSectors;)
        {
            byte[] buf = shared ?? _compressor!.NextBuffer();
            int n = IterationSectors(sector);
            BlockKind status = _status;
            if (MinSparse == 0 && status == BlockKind.Zero)
            {
                n = Math.Min(n, BufSectors);
            }
            if (status == BlockKind.Data || (MinSparse == 0 && status == BlockKind.Zero))
            {
                _allocatedDone += n;
                _progress.Print((float)(100.0 * _allocatedDone / _allocatedSectors), 0);
            }
            Span<byte> data = buf.AsSpan(0, status == BlockKind.Data || (MinSparse == 0 && status == BlockKind.Zero) ? n * ConvertSectors.SectorSize : 0);
            if (status == BlockKind.Data)
            {
                ReadSectors(sector, n, data);
            }
            else if (MinSparse == 0 && status == BlockKind.Zero)
            {
                status = BlockKind.Data;
                data.Clear();
            }
            if (status == BlockKind.Data && CopyRange && !ReadsCompressed(sector, n))
            {
                // Copy offloading (-C) copies the whole run as it is, without looking for zeros in it.
                WriteWhole(sector, data);
            }
            else
            {
                // Compressed clusters cannot be offloaded: qemu-img then gives up offloading for the rest of the copy.
                CopyRange &= status != BlockKind.Data;
                WriteSectors(sector, n, data, status);
            }
            sector += n;
        }
    }

    /// <summary>convert_select_part: the source holding a sector and the sector where that source starts.</summary>
    private (ConvertSource Source, long Start) SelectPart(long sector)
    {
        long start = 0;
        int i = 0;
        while (sector - start >= _sources[i].Sectors)
        {
            start += _sources[i].Sectors;
            i++;
        }
        return (_sources[i], start);
    }

    /// <summary>convert_iteration_sectors: how many sectors from sector form the next request, and their kind.</summary>
    private int IterationSectors(long sector)
    {
        (ConvertSource src, long srcStart) = SelectPart(sector);
        long n = Math.Min(TotalSectors - sector, RequestMaxSectors);
        bool postBackingZero = false;
        if (TargetBackingSectors >= 0)
        {
            if (sector >= TargetBackingSectors)
            {
                postBackingZero = true;
            }
            else if (sector + n > TargetBackingSectors)
            {
                // Past the backing file's end zeros are handled differently, so runs are split there.
                n = TargetBackingSectors - sector;
            }
        }
        if (_sectorNextStatus <= sector)
        {
            long offset = (sector - srcStart) * ConvertSectors.SectorSize;
            ConvertSource.Status st = QueryStatus(src, offset, ref n);
            n = (st.Bytes + ConvertSectors.SectorSize - 1) / ConvertSectors.SectorSize;
            // Keep the next status query aligned to the source's clusters to avoid needless partial reads.
            long tail = (sector - srcStart + n) % src.Alignment;
            if (n > tail)
            {
                n -= tail;
            }
            if (st.Zero)
            {
                _status = postBackingZero ? BlockKind.BackingFile : BlockKind.Zero;
            }
            else if (st.Data)
            {
                _status = BlockKind.Data;
            }
            else
            {
                _status = TargetHasBacking ? BlockKind.BackingFile : BlockKind.Data;
            }
            _sectorNextStatus = sector + n;
        }
        n = Math.Min(n, _sectorNextStatus - sector);
        if (_status == BlockKind.Data)
        {
            n = Math.Min(n, BufSectors);
        }
        if (Compressed)
        {
            // Compressed clusters are written whole, so a shorter run counts as data for the whole cluster.
            if (n < ClusterSectors)
            {
                n = Math.Min(ClusterSectors, TotalSectors - sector);
                _status = BlockKind.Data;
            }
            else
            {
                n -= n % ClusterSectors;
            }
        }
        return (int)n;
    }

    /// <summary>
    /// The block status at offset for n sectors; with --salvage a failing query is retried on a quarter of the run
    /// down to one sector, which then counts as data after a warning.
    /// </summary>
    private ConvertSource.Status QueryStatus(ConvertSource src, long offset, ref long n)
    {
        for (;;)
        {
            try
            {
                return src.Query(offset, n * ConvertSectors.SectorSize, TargetHasBacking);
            }
            catch (BlockIOException e)
            {
                if (!Salvage)
                {
                    throw new QimgException($"error while reading block status at offset {offset}: {ErrnoText.Of(e.Errno)}");
                }
                if (n == 1)
                {
                    if (!Quiet)
                    {
                        Err.Write($"{QimgTool.Name}: warning: error while reading block status at offset {offset}: {ErrnoText.Of(e.Errno)}\n");
                    }
                    return new ConvertSource.Status(ConvertSectors.SectorSize, true, false);
                }
                n = (n + 3) / 4;
            }
        }
    }

    /// <summary>convert_co_read: reads n sectors, crossing from one source into the next where needed.</summary>
    private void ReadSectors(long sector, int n, Span<byte> buf)
    {
        long firstSector = sector;
        long singleReadUntil = 0;
        int pos = 0;
        while (n > 0)
        {
            (ConvertSource src, long srcStart) = SelectPart(sector);
            long offset = (sector - srcStart) * ConvertSectors.SectorSize;
            int len = (int)Math.Min(n, src.Sectors - (sector - srcStart));
            if (singleReadUntil > offset)
            {
                len = 1;
            }
            Span<byte> dst = buf.Slice(pos * ConvertSectors.SectorSize, len * ConvertSectors.SectorSize);
            try
            {
                src.Read(offset, dst);
            }
            catch (BlockIOException e)
            {
                if (!Salvage)
                {
                    throw new QimgException($"error while reading at byte {firstSector * ConvertSectors.SectorSize}: {ErrnoText.Of(e.Errno)}");
                }
                if (len > 1)
                {
                    singleReadUntil = offset + (long)len * ConvertSectors.SectorSize;
                    continue;
                }
                if (!Quiet)
                {
                    Err.Write($"{QimgTool.Name}: warning: error while reading offset {offset}: {ErrnoText.Of(e.Errno)}\n");
                }
                dst.Clear();
            }
            sector += len;
            n -= len;
            pos += len;
        }
    }

    /// <summary>Whether a run reads compressed clusters, which qcow2's copy offloading refuses (ENOTSUP).</summary>
    private bool ReadsCompressed(long sector, int n)
    {
        (ConvertSource src, long srcStart) = SelectPart(sector);
        long offset = (sector - srcStart) * ConvertSectors.SectorSize;
        long bytes = Math.Min((long)n, src.Sectors - (sector - srcStart)) * ConvertSectors.SectorSize;
        return ConvertSource.ReadsCompressed(src.Device, offset, bytes) || (bytes < (long)n * ConvertSectors.SectorSize
            && ReadsCompressed(sector + (bytes / ConvertSectors.SectorSize), n - (int)(bytes / ConvertSectors.SectorSize)));
    }

    /// <summary>convert_co_copy_range: the run is written as one piece, zeros included.</summary>
    private void WriteWhole(long sector, ReadOnlySpan<byte> data)
    {
        try
        {
            _target.Write(sector * ConvertSectors.SectorSize, data);
        }
        catch (BlockIOException e)
        {
            throw new QimgException($"error while writing at byte {sector * ConvertSectors.SectorSize}: {ErrnoText.Of(e.Errno)}");
        }
    }

    /// <summary>convert_co_write: writes data runs (sparse-detected), skips or zeroes zero runs, leaves backing runs alone.</summary>
    private void WriteSectors(long sector, int n, ReadOnlySpan<byte> buf, BlockKind status)
    {
        long firstSector = sector;
        try
        {
            int pos = 0;
            while (n > 0)
            {
                int count = n;
                ReadOnlySpan<byte> rest = status == BlockKind.Data ? buf[(pos * ConvertSectors.SectorSize)..] : default;
                bool zero = status == BlockKind.Zero;
                if (status == BlockKind.Data)
                {
                    bool write = MinSparse == 0
                        || (!Compressed && ConvertSectors.IsAllocatedMin(rest, n, out count, MinSparse, sector, Alignment))
                        || (Compressed && !ConvertSectors.IsZero(rest[..(n * ConvertSectors.SectorSize)]));
                    if (write)
                    {
                        ReadOnlySpan<byte> chunk = rest[..(count * ConvertSectors.SectorSize)];
                        if (_compressor is not null)
                        {
                            // One cluster (the buffer is one cluster long), from the compressor's current buffer.
                            _compressor.Submit(sector, chunk.Length);
                        }
                        else if (Compressed)
                        {
                            _target.WriteCompressed(sector * ConvertSectors.SectorSize, chunk);
                        }
                        else
                        {
                            _target.Write(sector * ConvertSectors.SectorSize, chunk);
                        }
                    }
                    else
                    {
                        zero = true;
                    }
                }
                if (zero && !HasZeroInit)
                {
                    _compressor?.Drain();
                    _target.WriteZeroes(sector * ConvertSectors.SectorSize, (long)count * ConvertSectors.SectorSize, mayUnmap: true);
                }
                sector += count;
                n -= count;
                pos += count;
            }
        }
        catch (BlockIOException e)
        {
            throw new QimgException($"error while writing at byte {firstSector * ConvertSectors.SectorSize}: {ErrnoText.Of(e.Errno)}");
        }
    }
}
