// Fixtures run in parallel: most of the time goes to QEMU processes and file I/O, so a few more workers than the two
// cores of the reference machine keep both busy. Tests inside one fixture run one after another. A fixture that
// changes process-wide state (an environment variable the tools read) says
// [NonParallelizable] and then runs alone. Every test makes its own folder (Support/TempDir), never a fixed path.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(3)]
