namespace Qcow2.UnitTests.Support;

/// <summary>
/// The fast thread clock that the tests give QEMU (QemuClock.c, built once per run with the C compiler and preloaded
/// into every program <see cref="ToolProcess"/> starts). QEMU's PBKDF2 benchmark then takes one short round instead of
/// about two seconds of CPU for each LUKS create or keyslot add, and never fails with "Unable to get accurate CPU
/// usage"; the iteration counts it writes are a measurement of the host either way, and every test masks or copies them.
/// Without a C compiler (cc) or off Linux QEMU runs its own benchmark: the LUKS tests then take minutes longer, and
/// now and then QEMU fails a create with that message. A compiler that cannot build the library fails every test.
/// </summary>
public static class QemuClock
{
    private static readonly Lazy<string?> Built = new(Build);

    /// <summary>The library to preload into the programs the tests start, or null when it cannot be built here.</summary>
    public static string? Library => Built.Value;

    /// <summary>Compiles QemuClock.c next to the test assembly (kept while newer than the source) and returns its path; null without cc.</summary>
    private static string? Build()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "QemuClock.c");
        string library = Path.Combine(AppContext.BaseDirectory, "qemu-clock.so");
        if (!OperatingSystem.IsLinux() || !File.Exists(source))
        {
            return null;
        }
        if (File.Exists(library) && File.GetLastWriteTimeUtc(library) >= File.GetLastWriteTimeUtc(source))
        {
            return library;
        }
        // Built under a name of its own and moved into place, so a second test run at the same time never loads half a file.
        string partial = $"{library}.{Environment.ProcessId}";
        var r = ToolProcess.TryRun("cc", AppContext.BaseDirectory, ["-shared", "-fPIC", "-O2", "-o", partial, source, "-ldl"], preload: false);
        if (r is null)
        {
            return null;
        }
        if (r.ExitCode != 0)
        {
            File.Delete(partial);
            throw new InvalidOperationException($"cc could not build {source}:\n{r}");
        }
        File.Move(partial, library, overwrite: true);
        return library;
    }
}
