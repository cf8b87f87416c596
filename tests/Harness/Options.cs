using System.Globalization;

namespace Qcow2.Harness;

/// <summary>Command-line options of the iotests runner.</summary>
internal sealed class Options
{
    /// <summary>Usage text; run-tests.sh and run-tests.ps1 print this one text for --help.</summary>
    public const string Usage = """
        usage: run-tests.sh [options] [NNN|NNN-name|name ...]
          -g GROUP[,GROUP]   run scenarios in these groups (repeatable)
          -x GROUP[,GROUP]   exclude scenarios in these groups (repeatable)
          --target NAME      tests/targets/NAME.target or a path (default: reference)
          --bless            rewrite goldens with this run's output, showing the diff
          -j N               scenarios run in parallel (default: one more than the core count)
          --junit FILE       also write a JUnit XML report (with --all: a folder, one file per step)
          --ci               a missing golden, or a golden without a scenario, fails (default when CI is set)
          --root DIR         repository root (default: found from the current directory)
          --scratch DIR      where TEST_DIRs and .out.bad files go (default: tests/scratch)
          --timeout SECONDS  per tool process (default: 300)
          --list             list the selected scenarios and exit
          -h, --help         print this help and exit
        runner scripts only (run-tests.sh, run-tests.ps1):
          --all              everything: unit and interop tests (slow ones too), the suite on the target,
                             on reference-cli and on qemu, and the quick group through run-tests.ps1
          --unit             the unit and interop tests without the slow category, then stop
          --debug            build and run the Debug configuration
        exit status: 0 all passed, 1 failures, 2 usage or build error
        """;

    /// <summary>Scenario names or numbers given.</summary>
    public List<string> Names { get; } = [];

    /// <summary>-g groups.</summary>
    public List<string> Groups { get; } = [];

    /// <summary>-x groups.</summary>
    public List<string> Exclude { get; } = [];

    /// <summary>--target.</summary>
    public string Target { get; private set; } = "reference";

    /// <summary>--bless.</summary>
    public bool Bless { get; private set; }

    /// <summary>
    /// -j. One more job than cores by default: a scenario's programs wait on the disk and on each other, so with one
    /// job per core the cores idle part of the time (on two cores the suite on QEMU took 39-44 s with three jobs against
    /// 44-46 s with two, on reference-cli 41 s against 43-44 s).
    /// </summary>
    public int Jobs { get; private set; } = Environment.ProcessorCount + 1;

    /// <summary>--junit.</summary>
    public string? JUnit { get; private set; }

    /// <summary>--ci, or the environment variable CI set to anything but empty, "0" or "false".</summary>
    public bool Ci { get; private set; }

    /// <summary>--root.</summary>
    public string? Root { get; private set; }

    /// <summary>--scratch.</summary>
    public string? Scratch { get; private set; }

    /// <summary>--timeout.</summary>
    public int TimeoutSeconds { get; private set; } = 300;

    /// <summary>--list.</summary>
    public bool List { get; private set; }

    /// <summary>-h or --help.</summary>
    public bool Help { get; private set; }

    /// <summary>Whether a value of the CI environment variable means "running in CI", as CI services set it (CI=true).</summary>
    public static bool IsCiValue(string? value) =>
        !string.IsNullOrEmpty(value) && value != "0" && !value.Equals("false", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses args (ciVariable is the value of the CI environment variable); throws ArgumentException with a one-line message for the user.</summary>
    public static Options Parse(IReadOnlyList<string> args, string? ciVariable = null)
    {
        var o = new Options { Ci = IsCiValue(ciVariable) };
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"option {a} needs a value");
            switch (a)
            {
                case "-g": o.Groups.AddRange(GroupList(a, Value())); break;
                case "-x": o.Exclude.AddRange(GroupList(a, Value())); break;
                case "--target": o.Target = NonEmpty(a, Value()); break;
                case "--bless": o.Bless = true; break;
                case "-j": o.Jobs = Positive(a, Value(), "a positive number of jobs"); break;
                case "--junit": o.JUnit = NonEmpty(a, Value()); break;
                case "--ci": o.Ci = true; break;
                case "--root": o.Root = Path.GetFullPath(NonEmpty(a, Value())); break;
                case "--scratch": o.Scratch = Path.GetFullPath(NonEmpty(a, Value())); break;
                case "--timeout": o.TimeoutSeconds = Positive(a, Value(), "a positive number of seconds"); break;
                case "--list": o.List = true; break;
                case "-h" or "--help": o.Help = true; break;
                case "--all" or "--debug" or "--unit":
                    throw new ArgumentException($"option {a} belongs to run-tests.sh / run-tests.ps1, not to the iotests runner");
                default:
                    if (a.StartsWith('-'))
                    {
                        throw new ArgumentException($"unknown option {a}");
                    }

                    o.Names.Add(a);
                    break;
            }
        }

        return o;
    }

    private static int Positive(string option, string value, string what) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"option {option} needs {what}, not '{value}'");

    private static string NonEmpty(string option, string value) =>
        value.Length > 0 ? value : throw new ArgumentException($"option {option} needs a value");

    private static string[] GroupList(string option, string value)
    {
        var groups = value.Split(',', StringSplitOptions.RemoveEmptyEntries);
        return groups.Length > 0 ? groups : throw new ArgumentException($"option {option} needs a group name");
    }
}
