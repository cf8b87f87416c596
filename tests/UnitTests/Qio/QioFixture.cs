using System.Text.RegularExpressions;
using NUnit.Framework;
using Qcow2.Cli;
using Qcow2.Tools.Qio;

namespace Qcow2.UnitTests.Qio;

/// <summary>The result of one in-process qio run.</summary>
/// <param name="ExitCode">exit status</param>
/// <param name="Out">standard output</param>
/// <param name="Err">standard error</param>
public sealed record QioResult(int ExitCode, string Out, string Err)
{
    /// <inheritdoc/>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Err}";
}

/// <summary>Base for qio tests: a temporary folder per test, a 1 MiB raw image in it, and in-process runs of QioTool.</summary>
public abstract class QioFixture
{
    /// <summary>The test's folder.</summary>
    protected string Dir { get; private set; } = "";

    /// <summary>Creates the folder and a zeroed 1 MiB raw image r.img.</summary>
    [SetUp]
    public void CreateDir()
    {
        Dir = Path.Combine(Path.GetTempPath(), "qio-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        using var f = File.Create(PathOf("r.img"));
        f.SetLength(1 << 20);
    }

    /// <summary>Removes the folder.</summary>
    [TearDown]
    public void RemoveDir()
    {
        try
        {
            Directory.Delete(Dir, true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A path inside the test's folder.</summary>
    protected string PathOf(string name) => Path.Combine(Dir, name);

    /// <summary>Runs qio in the test's folder with the given standard input.</summary>
    protected QioResult QioWithInput(string input, params string[] args)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int rc = QioTool.Run(args, new ToolContext(new StringReader(input), o, e, Dir));
        return new QioResult(rc, o.ToString(), e.ToString());
    }

    /// <summary>Runs qio in the test's folder with empty standard input.</summary>
    protected QioResult Qio(params string[] args) => QioWithInput("", args);

    /// <summary>iotests' _filter_qemu_io for the statistics line (and the -C line).</summary>
    public static string FilterTiming(string text)
    {
        text = Regex.Replace(text, @"^[0-9.]+ (bytes|[KMGTPE]iB), [0-9]+ ops; .*$", "TIMING", RegexOptions.Multiline);
        return Regex.Replace(text, @"^[0-9]+,[0-9]+,[0-9:.]+,[0-9.inf]+,[0-9.inf]+$", "CTIMING", RegexOptions.Multiline);
    }
}
