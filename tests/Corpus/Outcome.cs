namespace Qcow2.Corpus;

/// <summary>How an adapter did on one case.</summary>
public enum Outcome
{
    /// <summary>As the prefix asks: y_ read with QEMU's content, n_ refused, i_ either way without foreign bytes.</summary>
    Pass,

    /// <summary>Read, but the content differs from QEMU's (y_ only; for i_ it is informational and counts as pass).</summary>
    WrongData,

    /// <summary>Returned bytes that are not guest data: the QCOW header magic or other bytes of the image file where the guest reads zeros.</summary>
    LeakedMetadata,

    /// <summary>A y_ case refused (non-zero exit).</summary>
    RefusedValid,

    /// <summary>An n_ case read (exit 0).</summary>
    AcceptedInvalid,

    /// <summary>Killed by a signal (exit status 128+N), out of memory included.</summary>
    Crash,

    /// <summary>Did not finish within the time bound.</summary>
    Timeout,

    /// <summary>Writer contract: after the writes, qemu-img check does not call the image clean, or QEMU cannot read it.</summary>
    CheckFailed,

    /// <summary>Writer contract: a write into an overlap case changed the metadata structure the L2 entry points at.</summary>
    OverwroteMetadata,
}

/// <summary>Names of the outcomes as the matrix prints them.</summary>
public static class OutcomeNames
{
    /// <summary>The outcome's name, e.g. "wrong data".</summary>
    public static string Name(this Outcome o) => o switch
    {
        Outcome.Pass => "pass",
        Outcome.WrongData => "wrong data",
        Outcome.LeakedMetadata => "leaked metadata",
        Outcome.RefusedValid => "refused valid",
        Outcome.AcceptedInvalid => "accepted invalid",
        Outcome.Crash => "crash",
        Outcome.Timeout => "timeout",
        Outcome.CheckFailed => "check failed",
        Outcome.OverwroteMetadata => "overwrote metadata",
        _ => o.ToString(),
    };
}

/// <summary>One cell of the matrix.</summary>
/// <param name="Case">case name</param>
/// <param name="Adapter">adapter name</param>
/// <param name="Outcome">the class</param>
/// <param name="Detail">what happened, in a few words (e.g. "refused", "extent 131072+65536 differs")</param>
/// <param name="Seconds">wall time</param>
public sealed record CaseResult(string Case, string Adapter, Outcome Outcome, string Detail, double Seconds);
