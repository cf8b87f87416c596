using System.Collections.Concurrent;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// A program run whose answer depends only on its key (its arguments, the bytes of its input files) runs once per test
/// run: later runs with the same key get the first one's result, and the files it left that the first caller chose to
/// keep are written into their own folder, holes where the run left holes (<see cref="SparseBytes"/>).
/// </summary>
public static class RunOnce
{
    private static readonly ConcurrentDictionary<string, Lazy<(ToolRun? Run, (string Name, SparseBytes Bytes)[]? Files)>> Runs =
        new(StringComparer.Ordinal);

    /// <summary>
    /// Runs run in dir the first time key is asked for; kept then names the files of dir (plain names) to keep with its
    /// result, or returns null to keep nothing, and every later call with that key runs for itself. Otherwise a later
    /// call returns the kept result and writes the kept files into its own dir.
    /// </summary>
    public static ToolRun? Run(string key, string dir, Func<ToolRun?> run, Func<ToolRun?, IEnumerable<string>?> kept)
    {
        ToolRun? first = null;
        bool ranHere = false;
        var (result, files) = Runs.GetOrAdd(key, _ => new(() =>
        {
            ranHere = true;
            first = run();
            var names = kept(first);
            return names is null ? (null, null) : (first, [.. names.Select(n => (n, SparseBytes.Read(Path.Combine(dir, n))))]);
        })).Value;
        if (ranHere)
        {
            return first;
        }
        if (files is null)
        {
            return run();
        }
        foreach (var (name, bytes) in files)
        {
            bytes.Write(Path.Combine(dir, name));
        }
        return result;
    }
}
