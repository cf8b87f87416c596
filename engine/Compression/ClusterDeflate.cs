using System.IO.Compression;
using System.Runtime.InteropServices;

namespace Qcow2.Compression;

/// <summary>
/// Compresses one cluster as QEMU's qcow2_compress does: raw deflate, default level, 4 KiB window (windowBits −12),
/// memLevel 9, into at most cluster size − 1 bytes. The host's zlib is used when it can be loaded, so that compressed
/// clusters are byte-identical to QEMU's; elsewhere .NET's deflate gives equally valid but different bytes.
/// </summary>
internal static unsafe class ClusterDeflate
{
    private const int ZOk = 0, ZStreamEnd = 1, ZFinish = 4, ZDeflated = 8, ZDefaultCompression = -1, ZDefaultStrategy = 0;
    private const int WindowBits = -12, MemLevel = 9;

    /// <summary>zlib's z_stream on LP64 platforms (112 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public nuint TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public nuint TotalOut;
        public nint Msg, State, ZAlloc, ZFree, Opaque;
        public int DataType;
        public nuint Adler, Reserved;
    }


    private static readonly (nint Init, nint Deflate, nint Reset) Native = LoadZlib();

    /// <summary>
    /// This thread's deflate stream, initialised once and reset for each cluster: deflateReset gives the same output as
    /// a fresh deflateInit2, without the 270 KiB allocation and release per cluster that made glibc grow and trim its
    /// heap each time (a third of `convert -c`'s time). The stream lives in native memory, since zlib's state points
    /// back at it; it lasts as long as the thread.
    /// </summary>
    [ThreadStatic]
    private static ZStream* t_stream;

    private static (nint, nint, nint) LoadZlib() =>
        HostLibrary.Load("z", 1, "deflateInit2_", "deflate", "deflateReset") is { } a ? (a[0], a[1], a[2]) : default;

    /// <summary>Whether the host zlib is in use (compressed bytes then equal QEMU's).</summary>
    public static bool UsesHostZlib => Native.Init != 0;

    /// <summary>
    /// Compresses the cluster into output, whose length is the most the compressed form may take (cluster size − 1 for
    /// a qcow2 cluster); false when it does not fit. Allocates nothing with the host zlib, so a writer can compress into
    /// pooled buffers.
    /// </summary>
    public static bool TryCompress(ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        var strm = UsesHostZlib ? ThreadStream() : null;
        if (strm is null)
        {
            return TryCompressManaged(cluster, output, out written);
        }
        var deflate = (delegate* unmanaged<ZStream*, int, int>)Native.Deflate;
        fixed (byte* src = cluster)
        fixed (byte* dst = output)
        {
            strm->NextIn = src;
            strm->AvailIn = (uint)cluster.Length;
            strm->NextOut = dst;
            strm->AvailOut = (uint)output.Length;
            int ret = deflate(strm, ZFinish);
            written = output.Length - (int)strm->AvailOut;
            strm->NextIn = strm->NextOut = null;
            return ret == ZStreamEnd;
        }
    }

    /// <summary>This thread's stream, reset and ready for a cluster; null when zlib cannot initialise one.</summary>
    private static ZStream* ThreadStream()
    {
        if (t_stream is not null)
        {
            var reset = (delegate* unmanaged<ZStream*, int>)Native.Reset;
            return reset(t_stream) == ZOk ? t_stream : null;
        }
        var init = (delegate* unmanaged<ZStream*, int, int, int, int, int, byte*, int, int>)Native.Init;
        var strm = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        byte* version = stackalloc byte[] { (byte)'1', (byte)'.', (byte)'2', (byte)'.', (byte)'1', (byte)'3', 0 };
        if (init(strm, ZDefaultCompression, ZDeflated, WindowBits, MemLevel, ZDefaultStrategy, version, sizeof(ZStream)) != ZOk)
        {
            NativeMemory.Free(strm);
            return null;
        }
        return t_stream = strm;
    }

    /// <summary>Fills <paramref name="cluster"/> from the stored bytes of a compressed cluster (raw deflate, which may be
    /// followed by the sector's slack); false when they do not inflate to at least that many bytes (QEMU's -EIO).</summary>
    public static bool Decompress(byte[] stored, Span<byte> cluster)
    {
        try
        {
            using var z = new DeflateStream(new MemoryStream(stored, writable: false), CompressionMode.Decompress);
            return HostLibrary.Fill(z, cluster);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private static bool TryCompressManaged(ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        using var ms = new MemoryStream();
        using (var z = new DeflateStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(cluster);
        }
        written = (int)ms.Length;
        if (written > output.Length)
        {
            return false;
        }
        ms.GetBuffer().AsSpan(0, written).CopyTo(output);
        return true;
    }
}
