using System.Globalization;
using System.Xml.Linq;

namespace Qcow2.Harness;

/// <summary>The end-of-run summary (as iotests' check prints it) and the JUnit XML file.</summary>
internal static class Report
{
    /// <summary>Summary lines: Not run, Failures, Passed all / Failed M of N, then "N passed, N failed, N skipped".</summary>
    public static IEnumerable<string> Summary(IReadOnlyList<ScenarioResult> results)
    {
        var notRun = results.Where(r => r.Outcome == Outcome.NotRun).ToList();
        var failed = results.Where(r => r.Outcome == Outcome.Fail).ToList();
        var passed = results.Count(r => r.Outcome == Outcome.Pass);
        if (notRun.Count > 0)
        {
            yield return "Not run: " + string.Join(' ', notRun.Select(r => r.Scenario.Stem));
        }

        if (failed.Count > 0)
        {
            yield return "Failures: " + string.Join(' ', failed.Select(r => r.Scenario.Stem));
            yield return $"Failed {failed.Count} of {passed + failed.Count} iotests";
        }
        else
        {
            yield return $"Passed all {passed} iotests";
        }

        yield return $"{passed} passed, {failed.Count} failed, {notRun.Count} skipped";
    }

    /// <summary>Writes a JUnit XML report.</summary>
    public static void WriteJUnit(string path, string targetName, IReadOnlyList<ScenarioResult> results)
    {
        static string Secs(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
        var suite = new XElement("testsuite",
            new XAttribute("name", "iotests-" + targetName),
            new XAttribute("tests", results.Count),
            new XAttribute("failures", results.Count(r => r.Outcome == Outcome.Fail)),
            new XAttribute("skipped", results.Count(r => r.Outcome == Outcome.NotRun)),
            new XAttribute("time", Secs(results.Aggregate(TimeSpan.Zero, (a, r) => a + r.Elapsed))),
            results.Select(r => new XElement("testcase",
                new XAttribute("classname", "iotests." + targetName),
                new XAttribute("name", r.Scenario.Stem),
                new XAttribute("time", Secs(r.Elapsed)),
                r.Outcome switch
                {
                    Outcome.Fail => new XElement("failure", new XAttribute("message", r.Reason), new XCData(r.Diff)),
                    Outcome.NotRun => new XElement("skipped", new XAttribute("message", r.Reason)),
                    _ => null,
                })));
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        using var writer = System.Xml.XmlWriter.Create(path, new System.Xml.XmlWriterSettings { Encoding = new System.Text.UTF8Encoding(false), Indent = true });
        new XDocument(new XElement("testsuites", suite)).Save(writer);
    }
}
