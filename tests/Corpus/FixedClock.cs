namespace Qcow2.Corpus;

/// <summary>A clock that always says the same time: snapshots made under it have reproducible dates.</summary>
/// <param name="now">the time it says</param>
public sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => now;
}
