using System.Runtime.InteropServices;
using ZstdSharp.Unsafe;

namespace Qcow2.Compression;

/// <summary>
/// zstd clusters as QEMU's qcow2_zstd_compress and qcow2_zstd_decompress make and read them: one zstd frame of the whole
/// cluster at the default level (ZSTD_compressStream2 with ZSTD_e_end on a fresh context), no length prefix, at most
/// cluster size − 1 bytes; reading streams from the stored bytes (which may run past the frame into the sector's
/// slack) until the cluster is full. The host's libzstd compresses when it can be loaded, so that clusters are
/// byte-identical to QEMU's; elsewhere ZstdSharp (a port of the same library) does. Decompression is always ZstdSharp.
/// </summary>
internal static unsafe class ClusterZstd
{
    /// <summary>ZSTD_inBuffer and ZSTD_outBuffer share this layout.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Buffer
    {
        public byte* Data;
        public nuint Size;
        public nuint Pos;
    }

    private const int EndDirective = 2; // ZSTD_e_end
    private const int ResetSessionOnly = 1; // ZSTD_reset_session_only

    private static readonly (nint Create, nint Reset, nint Compress, nint IsError) Native = LoadZstd();

    /// <summary>This thread's compression context, reset for each cluster (the same output as a fresh one).</summary>
    [ThreadStatic]
    private static nint t_context;

    /// <summary>Whether the host libzstd is in use (compressed bytes then equal QEMU's).</summary>
    public static bool UsesHostZstd => Native.Create != 0;

    private static (nint, nint, nint, nint) LoadZstd() =>
        HostLibrary.Load("zstd", 1, "ZSTD_createCCtx", "ZSTD_CCtx_reset", "ZSTD_compressStream2", "ZSTD_isError") is { } a
            ? (a[0], a[1], a[2], a[3]) : default;

    /// <summary>The compressed cluster, or null when it does not fit in cluster size − 1 bytes (QEMU's -ENOMEM: the
    /// cluster is then written uncompressed).</summary>
    public static byte[]? Compress(byte[] cluster)
    {
        var output = new byte[cluster.Length - 1];
        return TryCompress(cluster, output, out int written) ? output.AsSpan(0, written).ToArray() : null;
    }

    /// <summary>
    /// Compresses the cluster into output, whose length is the most the frame may take (cluster size − 1 for a qcow2
    /// cluster); false when it does not fit. Allocates nothing with the host libzstd, so a writer can compress into
    /// pooled buffers.
    /// </summary>
    public static bool TryCompress(ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        nint cctx = UsesHostZstd ? ThreadContext() : 0;
        if (cctx == 0)
        {
            return TryCompressManaged(cluster, output, out written);
        }
        var compress = (delegate* unmanaged<nint, Buffer*, Buffer*, int, nuint>)Native.Compress;
        fixed (byte* src = cluster)
        fixed (byte* dst = output)
        {
            var input = new Buffer { Data = src, Size = (nuint)cluster.Length };
            var outBuf = new Buffer { Data = dst, Size = (nuint)output.Length };
            nuint ret = compress(cctx, &outBuf, &input, EndDirective);
            // Anything but 0 (frame complete) is an error or a frame that does not fit: QEMU writes the cluster as it is.
            written = (int)outBuf.Pos;
            return ret == 0;
        }
    }

    /// <summary>This thread's context, reset and ready for a cluster; 0 when libzstd cannot make one.</summary>
    private static nint ThreadContext()
    {
        if (t_context != 0)
        {
            var reset = (delegate* unmanaged<nint, int, nuint>)Native.Reset;
            var isError = (delegate* unmanaged<nuint, uint>)Native.IsError;
            return isError(reset(t_context, ResetSessionOnly)) == 0 ? t_context : 0;
        }
        var create = (delegate* unmanaged<nint>)Native.Create;
        return t_context = create();
    }

    /// <summary>ZstdSharp's frame of the cluster (the fallback without a host libzstd), or null when it does not fit.</summary>
    internal static byte[]? CompressManaged(byte[] cluster, int limit)
    {
        var output = new byte[limit];
        return TryCompressManaged(cluster, output, out int written) ? output.AsSpan(0, written).ToArray() : null;
    }

    private static bool TryCompressManaged(ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        using var compressor = new ZstdSharp.Compressor();
        return compressor.TryWrap(cluster, output, out written);
    }

    /// <summary>This thread's decompression context (ZstdSharp's), reset for each cluster; it lasts as long as the thread.</summary>
    [ThreadStatic]
    private static nint t_dctx;

    /// <summary>
    /// Fills <paramref name="cluster"/> from the stored bytes of a compressed cluster as qcow2_zstd_decompress does:
    /// ZSTD_decompressStream until the cluster is full, which reads on into a next frame when one ends early; false
    /// (QEMU's -EIO) on a zstd error, on a call that makes no progress, and when the cluster is full before the frame
    /// ends (more data than a cluster). The output buffer is declared stable, so zstd decodes straight into the
    /// cluster and allocates no window of its own, whatever window a damaged frame header claims (at most a block
    /// buffer of 128 KiB, zstd's largest block, for a frame without a usable content size).
    /// </summary>
    public static bool Decompress(ReadOnlySpan<byte> stored, Span<byte> cluster)
    {
        var dctx = (ZSTD_DCtx_s*)ThreadDecompressionContext();
        if (dctx == null)
        {
            return false;
        }
        fixed (byte* src = stored)
        fixed (byte* dst = cluster)
        {
            var input = new ZSTD_inBuffer_s { src = src, size = (nuint)stored.Length, pos = 0 };
            var output = new ZSTD_outBuffer_s { dst = dst, size = (nuint)cluster.Length, pos = 0 };
            nuint ret = 0;
            while (output.pos < output.size)
            {
                nuint lastIn = input.pos, lastOut = output.pos;
                ret = Methods.ZSTD_decompressStream(dctx, &output, &input);
                if (Methods.ZSTD_isError(ret) || (input.pos <= lastIn && output.pos <= lastOut))
                {
                    return false;
                }
            }
            // Above zero: the frame goes on past the cluster (QEMU: "possibly because of its damage").
            return ret == 0;
        }
    }

    /// <summary>This thread's context, reset (and so out of any state a damaged cluster left it in) and set to decode
    /// into a stable output buffer; 0 when zstd cannot make one.</summary>
    private static nint ThreadDecompressionContext()
    {
        var dctx = (ZSTD_DCtx_s*)t_dctx;
        if (dctx == null)
        {
            dctx = Methods.ZSTD_createDCtx();
            if (dctx == null)
            {
                return 0;
            }
            t_dctx = (nint)dctx;
        }
        if (Methods.ZSTD_isError(Methods.ZSTD_DCtx_reset(dctx, ZSTD_ResetDirective.ZSTD_reset_session_only))
            || Methods.ZSTD_isError(Methods.ZSTD_DCtx_setParameter(dctx, StableOutBuffer, 1)))
        {
            return 0;
        }
        return (nint)dctx;
    }

    /// <summary>ZSTD_d_stableOutBuffer, an experimental parameter in zstd.h (ZSTD_d_experimentalParam2).</summary>
    private const ZSTD_dParameter StableOutBuffer = ZSTD_dParameter.ZSTD_d_experimentalParam2;
}
