namespace Qcow2.UnitTests.Support;

/// <summary>
/// Test cases written as a compact table for [TestCaseSource]: each row is its string arguments separated by single
/// spaces (so no argument may be empty or hold a space). The cases are named as [TestCase] rows with the same strings.
/// </summary>
public static class Rows
{
    /// <summary>One case per row, its arguments the row's words.</summary>
    public static IEnumerable<TestCaseData> Of(params string[] rows) =>
        rows.Select(row => new TestCaseData(row.Split(' ')));
}
