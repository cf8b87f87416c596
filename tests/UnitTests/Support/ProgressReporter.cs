using System.Diagnostics;
using NUnit.Framework.Interfaces;
using Qcow2.UnitTests.Support;

[assembly: ProgressReporter]

namespace Qcow2.UnitTests.Support;

/// <summary>
/// Counts finished tests and, when the environment variable QCOW2_TEST_PROGRESS names a file, keeps one line in it:
/// "DONE PASSED FAILED SKIPPED FIXTURE" (FIXTURE: the last one a test started in). run-tests.sh prints that line
/// every ten seconds while the unit and interop tests run, so a long run is never silent.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class ProgressReporterAttribute : Attribute, ITestAction
{
    private static readonly string? File = Environment.GetEnvironmentVariable("QCOW2_TEST_PROGRESS");
    private static readonly Lock Gate = new();
    private static readonly Stopwatch SinceWrite = Stopwatch.StartNew();
    private static int _passed, _failed, _skipped;
    private static string _fixture = "";

    /// <inheritdoc/>
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc/>
    public void BeforeTest(ITest test)
    {
        if (File is not null)
        {
            lock (Gate)
            {
                _fixture = test.ClassName ?? test.FullName;
            }
        }
    }

    /// <inheritdoc/>
    public void AfterTest(ITest test)
    {
        if (File is null)
        {
            return;
        }

        lock (Gate)
        {
            switch (TestContext.CurrentContext.Result.Outcome.Status)
            {
                case TestStatus.Passed: _passed++; break;
                case TestStatus.Failed: _failed++; break;
                default: _skipped++; break;
            }

            // At most a few writes a second: the reader looks every ten seconds.
            if (SinceWrite.ElapsedMilliseconds >= 250)
            {
                SinceWrite.Restart();
                Write();
            }
        }
    }

    private static void Write()
    {
        try
        {
            var name = _fixture.StartsWith("Qcow2.UnitTests.", StringComparison.Ordinal) ? _fixture["Qcow2.UnitTests.".Length..] : _fixture;
            System.IO.File.WriteAllText(File!, $"{_passed + _failed + _skipped} {_passed} {_failed} {_skipped} {name}\n");
        }
        catch (IOException)
        {
            // Progress is a courtesy; a full disk or a removed folder must not fail a test.
        }
    }
}
