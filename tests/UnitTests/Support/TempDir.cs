namespace Qcow2.UnitTests.Support;

/// <summary>
/// A fresh folder under the system temp directory, removed on Dispose. Every test that needs files makes one of these
/// (per test in SetUp, or per fixture in OneTimeSetUp), so parallel fixtures never share a path.
/// </summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates a folder named prefix plus a unique suffix.</summary>
    public TempDir(string prefix) => Path = Directory.CreateTempSubdirectory(prefix + "-").FullName;

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>The full path of a file or folder inside this one.</summary>
    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Creates (if needed) a sub-folder and returns its full path.</summary>
    public string Sub(string name) => Directory.CreateDirectory(PathOf(name)).FullName;

    /// <summary>
    /// Writes an executable script (text starting with its #! line) at name inside this folder (a sub-folder path is
    /// fine when it exists) and returns its full path; a test that needs one is ignored on Windows.
    /// </summary>
    /// <remarks>
    /// The file is written by a child shell, not by this process: a program this process starts from another test
    /// while it held the file open for writing would inherit that descriptor until its exec, and running the script
    /// in that window fails with ETXTBSY ("Text file busy", seen as a flaky exit 126 of the corpus runner's adapters).
    /// </remarks>
    public string Script(string name, string text)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("the stand-in programs are shell scripts");
            return "";
        }
        string path = PathOf(name);
        var r = ToolProcess.TryRun("/bin/sh", Path, ["-c", "cat > \"$1\" && chmod 700 \"$1\"", "sh", path], text, preload: false);
        Assert.That(r?.ExitCode, Is.EqualTo(0), $"writing the script {path}: {r}");
        return path;
    }

    /// <summary>Removes the folder and everything in it; a file still held open elsewhere leaves it to the OS temp cleaner.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Path;
}
