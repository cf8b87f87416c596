using System.Globalization;

namespace Qcow2.Harness;

/// <summary>Command-line options of the iotests runner.</summary>
internal sealed class Options
{
    /// <summary>Usage text.</summary>
    public const string Usage = """
        usage: run-tests.sh [options] [NNN|NNN-name|name ...]
          -g GROUP[,GROUP]   run scenarios in these groups (repeatable)
          -x GROUP[,GROUP]   exclude scenarios in these groups (repeatable)
          --target NAME      tests/targets/NAME.target or a path (default: reference)
          --bless            rewrite goldens with this run's output, showing the diff
          -j N               scenarios run in parallel (default: the core count)
          --junit FILE       also write a JUnit XML report
          --root DIR         repository root (default: found from the current directory)
          --scratch DIR      where TEST_DIRs and .out.bad files go (default: tests/scratch)
          --timeout SECONDS  per tool process (default: 300)
          --list             list the selected scenarios and exit
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

    /// <summary>-j.</summary>
    public int Jobs { get; private set; } = Environment.ProcessorCount;

    /// <summary>--junit.</summary>
    public string? JUnit { get; private set; }

    /// <summary>--root.</summary>
    public string? Root { get; private set; }

    /// <summary>--scratch.</summary>
    public string? Scratch { get; private set; }

    /// <summary>--timeout.</summary>
    public int TimeoutSeconds { get; private set; } = 300;

    /// <summary>--list.</summary>
    public bool List { get; private set; }

    /// <summary>Parses args; throws ArgumentException with a message for the user.</summary>
    public static Options Parse(IReadOnlyList<string> args)
    {
        var o = new Options();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"option {a} needs a value");
            switch (a)
            {
                case "-g": o.Groups.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                case "-x": o.Exclude.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                case "--target": o.Target = Value(); break;
                case "--bless": o.Bless = true; break;
                case "-j": o.Jobs = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var j) && j > 0 ? j : throw new ArgumentException("-j needs a positive number"); break;
                case "--junit": o.JUnit = Value(); break;
                case "--root": o.Root = Value(); break;
                case "--scratch": o.Scratch = Value(); break;
                case "--timeout": o.TimeoutSeconds = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--list": o.List = true; break;
                case "-h" or "--help": throw new ArgumentException("");
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
}
