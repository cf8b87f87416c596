using System.Runtime.InteropServices;

namespace Qcow2.Harness;

/// <summary>
/// The folder that <c>{tooldir}</c> in a target file names (the reference-cli target's tools). First match wins:
/// <list type="number">
/// <item><c>IOTESTS_TOOLDIR</c>: a folder holding qimg, qio and mkimage, or <c>build</c> for <c>{bindir}</c>;</item>
/// <item><c>{root}/dist/RID/</c>, what <c>./publish.sh</c> writes (Native AOT), when it holds all three tools and,
/// in a clone, is not older than the tools' sources (a stale publish is passed over, with a note);</item>
/// <item><c>{bindir}</c>: the folder of the iotests executable, where the build copies the tools.</item>
/// </list>
/// </summary>
internal static class ToolDir
{
    /// <summary>The environment variable that overrides the choice.</summary>
    public const string EnvironmentVariable = "IOTESTS_TOOLDIR";

    private static readonly string[] Tools = ["qimg", "qio", "mkimage"];

    /// <summary>The folder of the iotests executable.</summary>
    public static string BinDir => AppContext.BaseDirectory.TrimEnd('/', '\\');

    /// <summary>The chosen folder, and a note for the target's description when the choice needs one.</summary>
    public readonly record struct Choice(string Directory, string? Note);

    /// <summary>Chooses the folder for a suite rooted at root.</summary>
    public static Choice Resolve(string root)
    {
        var forced = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(forced))
        {
            return forced == "build"
                ? new Choice(BinDir, null)
                : new Choice(Path.GetFullPath(forced).TrimEnd('/', '\\'), $"{EnvironmentVariable}={forced}");
        }

        var dist = Path.Combine(root, "dist", RuntimeInformation.RuntimeIdentifier);
        var native = Tools.Select(t => new FileInfo(Path.Combine(dist, t + Exe))).ToList();
        if (!native.All(f => f.Exists) || SameDirectory(dist, BinDir))
        {
            return new Choice(BinDir, null);
        }

        // In a clone, a publish older than the newest source is stale (mtimes of build outputs are no guide: a
        // rebuild of unchanged sources rewrites them).
        var newest = NewestSource(root);
        if (newest is { } t && t > native.Min(f => f.LastWriteTimeUtc))
        {
            return new Choice(BinDir, $"dist/{RuntimeInformation.RuntimeIdentifier} is older than the sources and was passed over; run ./publish.sh");
        }

        return new Choice(dist, null);
    }

    /// <summary>The newest write time of the tools' sources (engine/, tools/, the props files), or null outside a clone.</summary>
    private static DateTime? NewestSource(string root)
    {
        var dirs = new[] { "engine", "tools" }.Select(d => Path.Combine(root, d)).Where(Directory.Exists).ToList();
        if (dirs.Count == 0)
        {
            return null;
        }

        var sources = dirs.SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Concat(Directory.EnumerateFiles(root, "*.props"));
        return sources.Select(File.GetLastWriteTimeUtc).DefaultIfEmpty(DateTime.MinValue).Max();
    }

    private static string Exe => OperatingSystem.IsWindows() ? ".exe" : "";

    private static bool SameDirectory(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd('/', '\\'), Path.GetFullPath(b).TrimEnd('/', '\\'), StringComparison.Ordinal);
}
