using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace Qcow2.UnitTests.Support;

/// <summary>
/// The header of an interop fixture whose cases are independent, each in its own folder: [Category("Interop")],
/// [Parallelizable(ParallelScope.All)] and [FixtureLifeCycle(LifeCycle.InstancePerTestCase)] in one, so that the cases
/// run in parallel with each other, one instance each. An attribute rather than a base fixture because these fixtures
/// derive from different bases (QioFixture, QimgFixture, HostileFixture); NUnit's own three attributes are sealed, so
/// this one hands the test and its context to them.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = true)]
public sealed class ParallelInteropAttribute : NUnitAttribute, IApplyToTest, IApplyToContext
{
    private static readonly CategoryAttribute Category = new("Interop");
    private static readonly ParallelizableAttribute Parallel = new(ParallelScope.All);
    private static readonly FixtureLifeCycleAttribute OneInstanceEach = new(LifeCycle.InstancePerTestCase);

    /// <inheritdoc />
    public void ApplyToTest(Test test)
    {
        OneInstanceEach.ApplyToTest(test);
        Category.ApplyToTest(test);
        Parallel.ApplyToTest(test);
    }

    /// <inheritdoc />
    public void ApplyToContext(TestExecutionContext context) => Parallel.ApplyToContext(context);
}
