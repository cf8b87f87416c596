using NUnit.Framework;
using Qcow2.Cli;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>A throw-away repository layout (tests/iotests, golden, targets) with a scriptable fake tool.</summary>
internal sealed class HarnessSandbox : IDisposable
{
    /// <summary>Creates the layout and a 'fake' target whose qimg and qio are <see cref="FakeTool"/>.</summary>
    public HarnessSandbox(string capabilities = "qcow2")
    {
        Directory.CreateDirectory(Path.Combine(Root, "tests", "iotests"));
        Directory.CreateDirectory(Path.Combine(Root, "tests", "golden"));
        Directory.CreateDirectory(Path.Combine(Root, "tests", "targets"));
        File.WriteAllText(Path.Combine(Root, "tests", "targets", "fake.target"),
            $"description: scripted fake\ncapabilities: {capabilities}\ntool qimg: in-process fake\ntool qio: in-process fake\nprogram-name fake: qemu-io\n");
    }

    private readonly TempDir _root = new("iotests-selftest");

    /// <summary>The sandbox root.</summary>
    public string Root => _root.Path;

    /// <summary>Writes tests/targets/NAME.target with the given text and loads it with the fake's entry points.</summary>
    public Qcow2.Harness.Target AddTarget(string name, string text)
    {
        File.WriteAllText(Path.Combine(Root, "tests", "targets", name + ".target"), text);
        return Qcow2.Harness.Target.Load(name, Root, EntryPoints);
    }

    /// <summary>Entry points for the fake target.</summary>
    public static readonly IReadOnlyDictionary<string, Func<string[], ToolContext, int>> EntryPoints =
        new Dictionary<string, Func<string[], ToolContext, int>> { ["fake"] = FakeTool };

    /// <summary>
    /// A tool driven by its arguments: <c>o:TEXT</c> writes a line to stdout, <c>e:TEXT</c> to stderr,
    /// <c>f</c> flushes stdout, <c>in</c> copies stdin to stdout, <c>x:N</c> sets the exit code.
    /// </summary>
    public static int FakeTool(string[] args, ToolContext ctx)
    {
        var code = 0;
        foreach (var a in args)
        {
            if (a.StartsWith("o:", StringComparison.Ordinal))
            {
                ctx.Out.WriteLine(a[2..]);
            }
            else if (a.StartsWith("e:", StringComparison.Ordinal))
            {
                ctx.Err.WriteLine(a[2..]);
            }
            else if (a == "f")
            {
                ctx.Out.Flush();
            }
            else if (a == "in")
            {
                ctx.Out.Write(ctx.In.ReadToEnd());
            }
            else if (a.StartsWith("x:", StringComparison.Ordinal))
            {
                code = int.Parse(a[2..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                ctx.Out.WriteLine("arg " + a);
            }
        }

        return code;
    }

    /// <summary>Writes a scenario script and, if given, its golden.</summary>
    public Scenario Add(string stem, string script, string? golden = null)
    {
        File.WriteAllText(Path.Combine(Root, "tests", "iotests", stem), script);
        if (golden is not null)
        {
            File.WriteAllText(Path.Combine(Root, "tests", "golden", stem + ".out"), golden);
        }

        return ScenarioParser.Load(Path.Combine(Root, "tests", "iotests", stem), Path.Combine(Root, "tests", "golden"));
    }

    /// <summary>Loads the fake target.</summary>
    public Target Target() => Qcow2.Harness.Target.Load("fake", Root, EntryPoints);

    /// <summary>Runs a scenario on the fake target.</summary>
    public ScenarioResult Run(Scenario s, bool bless = false) =>
        new Runner(Target(), Path.Combine(Root, "tests", "scratch", "fake"), bless).Run(s);

    /// <summary>Runs a body (header added) and returns its output.</summary>
    public string Output(string body)
    {
        var s = Add("999", "# self-test\n" + body, "");
        return Run(s).Output;
    }

    /// <inheritdoc/>
    public void Dispose() => _root.Dispose();
}
