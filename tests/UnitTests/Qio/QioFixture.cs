using System.Text.RegularExpressions;
using NUnit.Framework;
using Qcow2.Tools.Qio;

namespace Qcow2.UnitTests.Qio;

/// <summary>Base for qio tests: a temporary folder per test, a 1 MiB raw image in it, and in-process runs of QioTool.</summary>
public abstract class QioFixture : FolderFixture
{
    /// <summary>Creates a zeroed 1 MiB raw image r.img in the test's folder.</summary>
    [SetUp]
    public void CreateRawImage()
    {
        using var f = File.Create(PathOf("r.img"));
        f.SetLength(1 << 20);
    }

    /// <summary>Runs qio in the test's folder with the given standard input.</summary>
    protected ToolRun QioWithInput(string input, params string[] args) => InProcess.Run(QioTool.Run, Dir, args, input);

    /// <summary>Runs qio in the test's folder with empty standard input.</summary>
    protected ToolRun Qio(params string[] args) => QioWithInput("", args);

    /// <summary>qemu-io's arguments for commands written as one string separated by ';': "-c" before each command.</summary>
    protected static IEnumerable<string> CommandArgs(string commands) => commands.Split(';').SelectMany(c => new[] { "-c", c });

    /// <summary>iotests' _filter_qemu_io for the statistics line (and the -C line).</summary>
    public static string FilterTiming(string text)
    {
        text = Regex.Replace(text, @"^[0-9.]+ (bytes|[KMGTPE]iB), [0-9]+ ops; .*$", "TIMING", RegexOptions.Multiline);
        return Regex.Replace(text, @"^[0-9]+,[0-9]+,[0-9:.]+,[0-9.inf]+,[0-9.inf]+$", "CTIMING", RegexOptions.Multiline);
    }
}
