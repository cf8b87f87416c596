namespace Qcow2.UnitTests.Support;

/// <summary>Base of fixtures whose tests work in files: a fresh <see cref="TempDir"/> per test, removed afterwards.</summary>
public abstract class FolderFixture
{
    private TempDir? _dir;

    /// <summary>The current test's folder (the working directory of every tool run).</summary>
    protected string Dir => _dir?.Path ?? throw new InvalidOperationException("no test folder outside a test");

    /// <summary>Creates the test's folder.</summary>
    [SetUp]
    public void CreateDir() => _dir = new TempDir(GetType().Name);

    /// <summary>Removes the test's folder.</summary>
    [TearDown]
    public void RemoveDir() => _dir?.Dispose();

    /// <summary>A path inside the test's folder.</summary>
    protected string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>Creates (if needed) and returns a sub-folder of the test's folder.</summary>
    protected string SubDir(string name) => _dir!.Sub(name);
}
