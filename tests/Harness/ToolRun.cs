namespace Qcow2.Harness;

/// <summary>A piece of a tool's output as it left the process: which stream, and the text.</summary>
internal sealed record OutputChunk(bool IsError, string Text);

/// <summary>What one tool run produced: its exit code and its output in the order it was written.</summary>
internal sealed record ToolRun(int ExitCode, IReadOnlyList<OutputChunk> Chunks);

/// <summary>Runs one tool of a target.</summary>
internal interface IToolRunner
{
    /// <summary>Human description for messages (an in-process entry point or a command line).</summary>
    string Description { get; }

    /// <summary>Why the tool cannot run here (e.g. not on PATH), or null if it can.</summary>
    string? Unavailable { get; }

    /// <summary>
    /// Runs the tool. When merge is true, stdout and stderr go to one destination and the chunks must
    /// reflect the order in which a real process's writes would reach a shared pipe.
    /// </summary>
    ToolRun Run(IReadOnlyList<string> args, string? stdin, string workDir, bool merge);
}
