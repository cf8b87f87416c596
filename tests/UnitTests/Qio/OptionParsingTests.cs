using NUnit.Framework;
using Qcow2.Tools.Qio;

namespace Qcow2.UnitTests.Qio;

/// <summary>QEMU option strings and glibc getopt as qio uses them.</summary>
[TestFixture]
public class OptionParsingTests
{
    private static (List<KeyValuePair<string, string>> Options, List<string> Warnings, string? Error) Parse(string text)
    {
        var options = new List<KeyValuePair<string, string>>();
        var warnings = new List<string>();
        string? error = OptionString.Parse(text, options, warnings);
        return (options, warnings, error);
    }

    [Test]
    public void Keys_and_values_in_order()
    {
        var (options, warnings, error) = Parse("driver=qcow2,file.filename=t.qcow2,overlap-check.active-l1=on");
        Assert.That(error, Is.Null);
        Assert.That(warnings, Is.Empty);
        Assert.That(options, Is.EqualTo(new KeyValuePair<string, string>[]
        {
            new("driver", "qcow2"), new("file.filename", "t.qcow2"), new("overlap-check.active-l1", "on"),
        }));
    }

    [Test]
    public void Double_commas_escape_a_comma_in_values()
    {
        var (options, _, _) = Parse("file.filename=a,,b.img,driver=raw,,,x=1");
        Assert.That(OptionString.ToDictionary(options), Is.EqualTo(new Dictionary<string, string>
        {
            ["file.filename"] = "a,b.img", ["driver"] = "raw,", ["x"] = "1",
        }));
    }

    [Test]
    public void Trailing_comma_is_ignored_and_last_value_wins()
    {
        var (options, warnings, _) = Parse("driver=qcow2,driver=raw,");
        Assert.That(warnings, Is.Empty);
        Assert.That(OptionString.ToDictionary(options)["driver"], Is.EqualTo("raw"));
    }

    [Test]
    public void Bare_keys_are_deprecated_booleans()
    {
        var (options, warnings, _) = Parse("lazy-refcounts,nodiscard");
        Assert.That(OptionString.ToDictionary(options), Is.EqualTo(new Dictionary<string, string> { ["lazy-refcounts"] = "on", ["discard"] = "off" }));
        Assert.That(warnings, Is.EqualTo(new[]
        {
            "short-form boolean option 'lazy-refcounts' deprecated\nPlease use lazy-refcounts=on instead",
            "short-form boolean option 'nodiscard' deprecated\nPlease use discard=off instead",
        }));
    }

    [Test]
    public void Id_is_refused() => Assert.That(Parse("id=x,driver=raw").Error, Is.EqualTo("Invalid parameter 'id'"));

    [Test]
    public void Getopt_permutes_operands_and_reports_errors()
    {
        var err = new StringWriter { NewLine = "\n" };
        var g = new GetOpt(["read", "0", "-qP", "5", "512", "-v", "--", "-x"], "bCl:pP:qs:v", err);
        var seen = new List<string>();
        for (int c; (c = g.Next()) != -1;)
        {
            seen.Add(((char)c).ToString() + (g.OptArg ?? ""));
        }
        Assert.That(seen, Is.EqualTo(new[] { "q", "P5", "v" }));
        Assert.That(g.Operands, Is.EqualTo(new[] { "0", "512", "-x" }));
        Assert.That(err.ToString(), Is.Empty);

        var g2 = new GetOpt(["read", "-x", "0", "-P"], "P:", err);
        Assert.That(g2.Next(), Is.EqualTo('?'));
        Assert.That(g2.Next(), Is.EqualTo('?'));
        Assert.That(err.ToString(), Is.EqualTo("read: invalid option -- 'x'\nread: option requires an argument -- 'P'\n"));
    }
}
