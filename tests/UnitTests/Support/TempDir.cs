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
    public string Script(string name, string text)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("the stand-in programs are shell scripts");
            return "";
        }
        string path = PathOf(name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
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
