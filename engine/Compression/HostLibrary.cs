using System.Runtime.InteropServices;

namespace Qcow2.Compression;

/// <summary>What the compressors share: finding QEMU's own compression libraries on the host, and filling a cluster
/// from a decompressing stream.</summary>
internal static class HostLibrary
{
    /// <summary>The addresses of <paramref name="exports"/> in the first of <c>lib{name}.so.{soVersion}</c>,
    /// <c>lib{name}.so</c>, <c>lib{name}.{soVersion}.dylib</c>, <c>lib{name}.dylib</c> that has all of them; null when
    /// none does (or on a platform where the layouts this project declares do not hold).</summary>
    public static nint[]? Load(string name, int soVersion, params string[] exports)
    {
        if (!Environment.Is64BitProcess || OperatingSystem.IsWindows())
        {
            return null;
        }
        foreach (var file in new[] { $"lib{name}.so.{soVersion}", $"lib{name}.so", $"lib{name}.{soVersion}.dylib", $"lib{name}.dylib" })
        {
            if (!NativeLibrary.TryLoad(file, out var lib))
            {
                continue;
            }
            var addresses = new nint[exports.Length];
            if (exports.Select((e, i) => NativeLibrary.TryGetExport(lib, e, out addresses[i])).All(found => found))
            {
                return addresses;
            }
        }
        return null;
    }

    /// <summary>Reads <paramref name="cluster"/> full from a decompressing stream; false when the stream ends first.</summary>
    public static bool Fill(Stream stream, Span<byte> cluster)
    {
        int got = 0;
        while (got < cluster.Length)
        {
            int n = stream.Read(cluster[got..]);
            if (n == 0)
            {
                return false;
            }
            got += n;
        }
        return true;
    }
}
