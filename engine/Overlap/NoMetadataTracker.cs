namespace Qcow2.Overlap;

/// <summary>The tracker of scan mode: the linear scan reads the tables themselves on every check, so nothing is recorded.</summary>
internal sealed class NoMetadataTracker : IMetadataTracker
{
    /// <summary>The one instance.</summary>
    public static NoMetadataTracker Instance { get; } = new();

    private NoMetadataTracker()
    {
    }

    /// <inheritdoc/>
    public void Enter(long offset, long bytes, OverlapTypes type)
    {
    }

    /// <inheritdoc/>
    public void Remove(long offset, long bytes, OverlapTypes type)
    {
    }
}
