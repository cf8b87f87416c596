using System.Runtime.InteropServices;
using NUnit.Framework;
using Qcow2.Harness;

namespace Qcow2.UnitTests.Harness;

/// <summary>Where {tooldir} points (the reference-cli target's tools) and the not-run reasons that name a target's missing line.</summary>
[TestFixture]
public sealed class ToolDirTests
{
    private HarnessSandbox _box = null!;

    [SetUp]
    public void SetUp()
    {
        // The variable overrides every other choice; these tests are about the choices below it.
        Assume.That(Environment.GetEnvironmentVariable(ToolDir.EnvironmentVariable), Is.Null.Or.Empty);
        _box = new HarnessSandbox();
    }

    [TearDown]
    public void TearDown() => _box?.Dispose();

    private string Dist => Path.Combine(_box.Root, "dist", RuntimeInformation.RuntimeIdentifier);

    private void Publish(DateTime when, params string[] tools)
    {
        Directory.CreateDirectory(Dist);
        foreach (var t in tools)
        {
            var path = Path.Combine(Dist, t + (OperatingSystem.IsWindows() ? ".exe" : ""));
            File.WriteAllText(path, "");
            File.SetLastWriteTimeUtc(path, when);
        }
    }

    [Test]
    public void Without_dist_it_is_the_runner_folder() =>
        Assert.That(ToolDir.Resolve(_box.Root), Is.EqualTo(new ToolDir.Choice(ToolDir.BinDir, null)));

    [Test]
    public void A_dist_folder_newer_than_the_sources_with_all_three_tools_wins()
    {
        Directory.CreateDirectory(Path.Combine(_box.Root, "tools"));
        File.WriteAllText(Path.Combine(_box.Root, "tools", "Tool.cs"), "");
        Publish(DateTime.UtcNow.AddMinutes(1), "qimg", "qio", "mkimage");
        Assert.That(ToolDir.Resolve(_box.Root), Is.EqualTo(new ToolDir.Choice(Dist, null)));
    }

    [Test]
    public void A_dist_folder_missing_a_tool_is_passed_over()
    {
        Publish(DateTime.UtcNow.AddMinutes(1), "qimg", "qio");
        Assert.That(ToolDir.Resolve(_box.Root).Directory, Is.EqualTo(ToolDir.BinDir));
    }

    [Test]
    public void A_dist_folder_older_than_the_sources_is_passed_over_with_a_note()
    {
        Directory.CreateDirectory(Path.Combine(_box.Root, "engine"));
        File.WriteAllText(Path.Combine(_box.Root, "engine", "Image.cs"), "");
        Publish(DateTime.UtcNow.AddMinutes(-1), "qimg", "qio", "mkimage");
        var choice = ToolDir.Resolve(_box.Root);
        Assert.That((choice.Directory, choice.Note), Is.EqualTo((ToolDir.BinDir,
            $"dist/{RuntimeInformation.RuntimeIdentifier} is older than the sources and was passed over; run ./publish.sh")));
    }

    [Test]
    public void The_tooldir_placeholder_is_substituted_in_tool_lines()
    {
        Publish(DateTime.UtcNow.AddMinutes(1), "qimg", "qio", "mkimage");
        var target = Target.Parse("tool qimg: {tooldir}/qimg\n", "t", _box.Root, HarnessSandbox.EntryPoints, TimeSpan.FromSeconds(1));
        Assert.That(target.Tools["qimg"].Description, Is.EqualTo(Path.Combine(Dist, "qimg")));
    }

    [Test]
    public void A_tool_without_a_line_is_not_run_naming_the_line()
    {
        var target = _box.AddTarget("noqio", "capabilities: qcow2\ntool qimg: in-process fake\n");
        var s = _box.Add("006", "# desc\nqio -c 'read 0 1' x\n", "x\n");
        Assert.That(target.WhyNotRun(s), Is.EqualTo("target noqio has no 'qio' line ('tool qio: COMMAND')"));
    }
}
