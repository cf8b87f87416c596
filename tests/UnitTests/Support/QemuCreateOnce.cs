namespace Qcow2.UnitTests.Support;

/// <summary>
/// A <c>qemu-img create</c> that makes one new qcow2 or raw image from nothing but its arguments (a name in the
/// folder, a size, -q, -f and -o options without a backing file, data file, encryption or preallocation) makes the same
/// bytes and prints the same text every time: the tests run about 1200 creates of about 350 kinds, so each kind runs
/// once per test run (20 ms of QEMU's CPU each) and later ones get its output and image (<see cref="RunOnce"/>).
/// Anything else, a name that already exists, or a create that failed, runs as asked.
/// </summary>
public static class QemuCreateOnce
{
    /// <summary>The option words whose presence makes a create depend on more than its arguments, or on chance.</summary>
    private static readonly string[] Unrepeatable = ["backing", "data_file", "encrypt", "preallocation", "key-secret"];

    /// <summary>Whether a run is such a create, into a name that does not exist yet.</summary>
    public static bool Applies(string tool, string dir, IReadOnlyList<string> args, string input) =>
        tool == "qemu-img" && input.Length == 0 && ImageName(args) is string name && Directory.Exists(dir) && !Path.Exists(Path.Combine(dir, name));

    /// <summary>Runs the create (one that <see cref="Applies"/>) the first time its arguments are seen, and replays it afterwards (<see cref="RunOnce"/>).</summary>
    public static ToolRun? Run(string dir, IReadOnlyList<string> args, Func<ToolRun?> run)
    {
        string name = ImageName(args)!;
        string[] before = Directory.GetFileSystemEntries(dir);
        // Kept only when the create succeeded and made nothing but its image: a failure may come from the folder.
        return RunOnce.Run(string.Join('\0', ["qemu-img", .. args]), dir, run, r =>
            r is { ExitCode: 0 } && File.Exists(Path.Combine(dir, name))
            && Directory.GetFileSystemEntries(dir).Except(before).All(e => e == Path.Combine(dir, name))
                ? [name]
                : null);
    }

    /// <summary>
    /// The image name of <c>create [-q] [-f qcow2|raw] [-o OPTIONS] NAME SIZE</c>, NAME a plain file name; null for any
    /// other command line.
    /// </summary>
    private static string? ImageName(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] != "create")
        {
            return null;
        }
        var positional = new List<string>();
        for (int i = 1; i < args.Count; i++)
        {
            string a = args[i];
            switch (a)
            {
                case "-q":
                    continue;
                case "-f" when i + 1 < args.Count && args[i + 1] is "qcow2" or "raw":
                    i++;
                    continue;
                case "-o" when i + 1 < args.Count && !Unrepeatable.Any(u => args[i + 1].Contains(u, StringComparison.Ordinal)):
                    i++;
                    continue;
            }
            if (a.StartsWith('-'))
            {
                return null;
            }
            positional.Add(a);
        }
        return positional is [var name, _] && name.Length > 0 && name.IndexOfAny(['/', '\\', ',', ':']) < 0 && name != "." && name != ".."
            ? name
            : null;
    }
}
