using System.Runtime.InteropServices;

namespace Qcow2.Harness;

/// <summary>
/// The folder that <c>{tooldir}</c> in a target file names (the reference-cli target's tools). First match wins:
/// <list type="number">
/// <item><c>IOTESTS_TOOLDIR</c>: a folder holding qimg, qio and mkimage, or <c>build</c> for <c>{bindir}</c>;</item>
/// <item><c>{root}/dist/RID/</c>, what <c>./publish.sh</c> writes (Native AOT), when it holds all three tools and is
/// not older than the build in <c>{bindir}</c> (a stale publish is passed over, with a note);</item>
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

        // The build's assemblies beside iotests (absent when iotests is itself a native executable).
        var built = Tools.Select(t => new FileInfo(Path.Combine(BinDir, t + ".dll"))).Where(f => f.Exists).ToList();
        if (built.Count > 0 && built.Max(f => f.LastWriteTimeUtc) > native.Min(f => f.LastWriteTimeUtc))
        {
            return new Choice(BinDir, $"dist/{RuntimeInformation.RuntimeIdentifier} is older than the build and was passed over; run ./publish.sh");
        }

        return new Choice(dist, null);
    }

    private static string Exe => OperatingSystem.IsWindows() ? ".exe" : "";

    private static bool SameDirectory(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd('/', '\\'), Path.GetFullPath(b).TrimEnd('/', '\\'), StringComparison.Ordinal);
}
