using System.Collections.Concurrent;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// Test inputs that QEMU builds the same way every time (an image made by qemu-img and qemu-io, a folder a setup
/// script fills) are built once per test run and copied for every later test that asks for them by the same key.
/// </summary>
public static class BuiltOnce
{
    /// <summary>Files larger than this are rebuilt each time rather than kept in memory.</summary>
    private const long MaxCachedBytes = 64L << 20;

    private static readonly ConcurrentDictionary<string, Lazy<byte[]>> Files = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<(string Name, byte[] Bytes)>?>> Folders = new(StringComparer.Ordinal);

    /// <summary>Makes the file at path that build(path) makes, running build only the first time key is asked for.</summary>
    public static void File(string key, string path, Action<string> build)
    {
        bool built = false;
        var bytes = Files.GetOrAdd(key, _ => new Lazy<byte[]>(() =>
        {
            build(path);
            built = true;
            return System.IO.File.ReadAllBytes(path);
        })).Value;
        if (!built)
        {
            System.IO.File.WriteAllBytes(path, bytes);
        }
    }

    /// <summary>
    /// Fills the empty folder dir as build(dir) fills it, running build only the first time key is asked for
    /// (every time when the folder holds a file over 64 MiB or a sub-folder).
    /// </summary>
    public static void Folder(string key, string dir, Action<string> build)
    {
        bool built = false;
        var files = Folders.GetOrAdd(key, _ => new Lazy<IReadOnlyList<(string, byte[])>?>(() =>
        {
            build(dir);
            built = true;
            if (Directory.GetDirectories(dir).Length > 0 || Directory.GetFiles(dir).Any(f => new FileInfo(f).Length > MaxCachedBytes))
            {
                return null;
            }

            return Directory.GetFiles(dir).Select(f => (Path.GetFileName(f), System.IO.File.ReadAllBytes(f))).ToList();
        })).Value;
        if (built)
        {
            return;
        }

        if (files is null)
        {
            build(dir);
            return;
        }

        foreach (var (name, bytes) in files)
        {
            System.IO.File.WriteAllBytes(Path.Combine(dir, name), bytes);
        }
    }
}
