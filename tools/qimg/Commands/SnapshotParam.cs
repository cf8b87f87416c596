using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// The -l snapshot_param of convert and measure: "snapshot.id=...,snapshot.name=..." (Opts) or, in the old form, an
/// id or name (Name).
/// </summary>
public sealed record SnapshotParam(string? Name, (string? Id, string? Name)? Opts)
{
    /// <summary>The snapshot options -l accepts in its key=value form (internal_snapshot_opts).</summary>
    private static readonly IReadOnlyList<OptDesc> Options =
    [
        new("snapshot.id", OptType.String, "snapshot id"),
        new("snapshot.name", OptType.String, "snapshot name"),
    ];

    /// <summary>Parses -l's argument; a bad key=value list prints its error and fails with qemu-img's message.</summary>
    public static SnapshotParam Parse(ToolContext ctx, string arg)
    {
        if (!arg.StartsWith("snapshot.", StringComparison.Ordinal))
        {
            return new SnapshotParam(arg, null);
        }
        var opts = new QemuOpts(Options);
        try
        {
            opts.Parse(arg);
        }
        catch (ToolException e)
        {
            ctx.Err.Write($"{QimgTool.Name}: {e.Message}\n{e.Hint}");
            throw new QimgException($"Failed in parsing snapshot param '{arg}'");
        }
        return new SnapshotParam(null, (opts.GetString("snapshot.id"), opts.GetString("snapshot.name")));
    }
}
