namespace Qcow2.Harness;

/// <summary>Outcome of one scenario on one target.</summary>
internal enum Outcome
{
    /// <summary>Output matched the golden (or the golden was blessed).</summary>
    Pass,

    /// <summary>Output differed, or the script could not be parsed.</summary>
    Fail,

    /// <summary>Not run, with a reason (no golden, missing capability, _notrun).</summary>
    NotRun,
}

/// <summary>The result of running one scenario.</summary>
internal sealed record ScenarioResult(Scenario Scenario, Outcome Outcome, string Reason, string Output, string Diff, TimeSpan Elapsed, bool Blessed = false)
{
    /// <summary>The result line, as iotests' check prints it.</summary>
    public string Line(int width) => Outcome switch
    {
        Outcome.NotRun => $"{Scenario.Stem.PadRight(width)}  not run: {Reason}",
        _ => $"{Scenario.Stem.PadRight(width)}  {(Outcome == Outcome.Pass ? "pass" : "fail"),-7} [{Elapsed.TotalSeconds:0.0}s]"
            + (Blessed ? "  (golden updated)" : "") + (Reason.Length > 0 && Outcome == Outcome.Fail ? "  " + Reason : ""),
    };
}
