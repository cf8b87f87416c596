using System.Collections.Concurrent;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// Test inputs that QEMU builds the same way every time (an image made by qemu-img and qemu-io, a folder a setup
/// script fills) are built once per test run and copied for every later test that asks for them by the same key.
/// </summary>
public static class BuiltOnce
{
    private static readonly ConcurrentDictionary<string, Lazy<byte[]>> Files = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Lazy<string?>> Folders = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Lazy<(string Name, SparseBytes Bytes)[]>> Layouts = new(StringComparer.Ordinal);
    private static readonly Lazy<TempDir> Store = new(() =>
    {
        var store = new TempDir("built-once");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => store.Dispose();
        return store;
    });

    /// <summary>Makes the file at path that build(path) makes, running build only the first time key is asked for (kept in memory: small files).</summary>
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
    /// Fills the empty folder dir as build(dir) fills it, running build only the first time key is asked for. The
    /// copies are made by cp, which keeps holes where the original has them (raw images with holes stay sparse);
    /// without cp every call builds.
    /// </summary>
    public static void Folder(string key, string dir, Action<string> build)
    {
        bool built = false;
        string? kept = Folders.GetOrAdd(key, k => new Lazy<string?>(() =>
        {
            build(dir);
            built = true;
            string copy = Path.Combine(Store.Value.Path, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(k))));
            Directory.CreateDirectory(copy);
            return Copy(dir, copy) ? copy : null;
        })).Value;
        if (built)
        {
            return;
        }

        if (kept is null || !Copy(kept, dir))
        {
            build(dir);
        }
    }

    /// <summary>
    /// Fills the empty folder dir as build(dir) fills it (files only, no subfolders), running build only the first time
    /// key is asked for. The files are kept in memory with their holes and written back with the same holes, neither
    /// more nor fewer: for layout-sensitive tests (QEMU reports holes as zeros), where cp -a could add holes. With
    /// only, a later call writes only the files it names (the first call leaves everything build made).
    /// </summary>
    public static void Layout(string key, string dir, Action<string> build, Func<string, bool>? only = null)
    {
        bool built = false;
        var files = Layouts.GetOrAdd(key, _ => new Lazy<(string, SparseBytes)[]>(() =>
        {
            build(dir);
            built = true;
            return [.. Directory.GetFiles(dir).Select(f => (Path.GetFileName(f), SparseBytes.Read(f)))];
        })).Value;
        if (!built)
        {
            foreach ((string name, SparseBytes bytes) in files.Where(f => only is null || only(f.Name)))
            {
                bytes.Write(Path.Combine(dir, name));
            }
        }
    }

    /// <summary>Copies a folder's contents with cp -a (holes kept); false when cp is not there or fails.</summary>
    private static bool Copy(string from, string to) =>
        ToolProcess.TryRun("cp", to, ["-a", Path.Combine(from, "."), to]) is { ExitCode: 0 };
}
