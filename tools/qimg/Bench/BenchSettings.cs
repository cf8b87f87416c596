namespace Qcow2.Tools.Qimg;

/// <summary>The parsed arguments of qimg bench, with qemu-img bench's defaults.</summary>
internal sealed class BenchSettings
{
    /// <summary>Number of requests (-c).</summary>
    public int Count { get; set; } = 75000;

    /// <summary>Queue depth (-d); printed, and checked against the flush interval.</summary>
    public int Depth { get; set; } = 64;

    /// <summary>Bytes per request (-s).</summary>
    public long BufferSize { get; set; } = 4096;

    /// <summary>Distance between request offsets (-S); 0 until defaulted to the buffer size.</summary>
    public long Step { get; set; }

    /// <summary>First request's offset (-o).</summary>
    public long Offset { get; set; }

    /// <summary>Byte the buffer is filled with (--pattern).</summary>
    public byte Pattern { get; set; }

    /// <summary>Flush after every this many completed requests (--flush-interval); 0 for never.</summary>
    public int FlushInterval { get; set; }

    /// <summary>Drain requests before a flush (cleared by --no-drain; no effect when requests run one at a time).</summary>
    public bool Drain { get; set; } = true;

    /// <summary>Write requests instead of reads (-w).</summary>
    public bool Write { get; set; }

    /// <summary>Image format (-f); null probes it.</summary>
    public string? Format { get; set; }

    /// <summary>The operand is an --image-opts list.</summary>
    public bool ImageOpts { get; set; }

    /// <summary>-U.</summary>
    public bool ForceShare { get; set; }

    /// <summary>aio=native was asked for (-n or -i native).</summary>
    public bool NativeAio { get; set; }

    /// <summary>The cache mode is writethrough (writethrough, directsync); writeback is qemu-img bench's default.</summary>
    public bool WriteThrough { get; set; }

    /// <summary>The cache mode sets cache.direct (none, off, directsync).</summary>
    public bool DirectCache { get; set; }

    /// <summary>The image operand.</summary>
    public string FileName { get; set; } = "";
}
