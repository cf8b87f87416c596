using NUnit.Framework;

namespace Qcow2.UnitTests.Harness;

/// <summary>Base of the harness fixtures whose tests each run in a fresh <see cref="HarnessSandbox"/>, removed afterwards.</summary>
public abstract class SandboxFixture
{
    private readonly string _capabilities;

    /// <summary>Gives every test a sandbox whose fake target has the given capabilities.</summary>
    protected SandboxFixture(string capabilities = "qcow2") => _capabilities = capabilities;

    /// <summary>The current test's sandbox.</summary>
    private protected HarnessSandbox Box { get; private set; } = null!;

    /// <summary>Creates the test's sandbox.</summary>
    [SetUp]
    public void CreateSandbox() => Box = new HarnessSandbox(_capabilities);

    /// <summary>Removes the test's sandbox.</summary>
    [TearDown]
    public void RemoveSandbox() => Box?.Dispose();
}
