using NUnit.Framework;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Qimg;

/// <summary>QemuOpts parsing of -o lists: escapes, flags, validation messages and qemu's printing.</summary>
[TestFixture]
public class QemuOptsTests
{
    private static QemuOpts Qcow2Opts() => new(CreateOptionLists.Merge(CreateOptionLists.Qcow2Format));

    [Test]
    public void Parse_reads_name_value_pairs_and_double_commas()
    {
        QemuOpts o = Qcow2Opts();
        o.Parse("backing_file=a,,b.raw,cluster_size=4k,compat=0.10");
        Assert.That(o.GetString("backing_file"), Is.EqualTo("a,b.raw"));
        Assert.That(o.Get("cluster_size")!.Number, Is.EqualTo(4096UL));
        Assert.That(o.GetString("compat"), Is.EqualTo("0.10"));
    }

    [Test]
    public void Parse_treats_a_bare_name_as_on_and_a_no_prefix_as_off()
    {
        QemuOpts o = Qcow2Opts();
        o.Parse("lazy_refcounts,noextended_l2");
        Assert.That(o.Get("lazy_refcounts")!.Flag, Is.True);
        Assert.That(o.Get("extended_l2")!.Flag, Is.False);
        Assert.That(o.GetString("extended_l2"), Is.EqualTo("off"));
    }

    [Test]
    public void Parse_ignores_id_and_lets_the_last_setting_win()
    {
        QemuOpts o = Qcow2Opts();
        o.Parse("id=5,refcount_bits=8,refcount_bits=0x20");
        Assert.That(o.Has("id"), Is.False);
        Assert.That(o.Get("refcount_bits")!.Number, Is.EqualTo(32UL));
    }

    [TestCase("foo=bar", "Invalid parameter 'foo'")]
    [TestCase("foo", "Invalid parameter 'foo'")]
    [TestCase("lazy_refcounts=On", "Parameter 'lazy_refcounts' expects 'on' or 'off'")]
    [TestCase("lazy_refcounts=1", "Parameter 'lazy_refcounts' expects 'on' or 'off'")]
    [TestCase("refcount_bits=abc", "Parameter 'refcount_bits' expects a number")]
    [TestCase("refcount_bits=99999999999999999999", "Value '99999999999999999999' is too large for parameter 'refcount_bits'")]
    [TestCase("cluster_size=abc", "Parameter 'cluster_size' expects a non-negative number below 2^64")]
    [TestCase("cluster_size=4k,,x", "Parameter 'cluster_size' expects a non-negative number below 2^64")]
    [TestCase("cluster_size=99999999999999999999", "Value '99999999999999999999' is out of range for parameter 'cluster_size'")]
    public void Parse_rejects_with_qemus_message(string list, string message)
    {
        var e = Assert.Throws<ToolException>(() => Qcow2Opts().Parse(list))!;
        Assert.That(e.Message, Is.EqualTo(message));
    }

    [Test]
    public void Size_errors_carry_the_suffix_hint()
    {
        var e = Assert.Throws<ToolException>(() => Qcow2Opts().Parse("size=x"))!;
        Assert.That(e.Hint, Is.EqualTo("Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.\n"));
    }

    /// <summary>Lists that ask for help, then lists where "help" is only part of an element.</summary>
    private static IEnumerable<TestCaseData> HelpLists =>
        [.. Lists(true, "help", "?", "cluster_size=4k,help"), .. Lists(false, "cluster_size=help", "backing_file=a,,help")];

    [TestCaseSource(nameof(HelpLists))]
    public void HasHelpOption_needs_a_whole_element(string list, bool expected)
    {
        Assert.That(QemuOpts.HasHelpOption(list), Is.EqualTo(expected));
    }

    /// <summary>Option lists qemu-img takes, then ones it refuses.</summary>
    private static IEnumerable<TestCaseData> OptionLists =>
        [.. Lists(true, "a=b", "a=b,,"), .. Lists(false, "", ",a=b", "a=b,", "a=b,,,")];

    [TestCaseSource(nameof(OptionLists))]
    public void IsValidOptionList_follows_qemu_img(string list, bool expected)
    {
        Assert.That(QemuOpts.IsValidOptionList(list), Is.EqualTo(expected));
    }

    /// <summary>One case per option list, each with the same expected answer.</summary>
    private static IEnumerable<TestCaseData> Lists(bool expected, params string[] lists) =>
        lists.Select(list => new TestCaseData(list, expected));

    [Test]
    public void Print_uses_qemus_order_defaults_and_given_spellings()
    {
        QemuOpts o = Qcow2Opts();
        o.Parse("refcount_bits=0x10,lazy_refcounts=yes,compat=v2,cluster_size=4k,preallocation=metadata");
        o.SetNumber("size", 1048576);
        o.Set("backing_file", "a,b");
        Assert.That(o.Print(), Is.EqualTo(
            "cluster_size=4096 extended_l2=off preallocation=metadata compression_type=zlib size=1048576 compat=v2 "
            + "backing_file=a,,b lazy_refcounts=yes refcount_bits=16"));
    }

    [Test]
    public void Print_shows_numbers_as_signed_values()
    {
        QemuOpts o = Qcow2Opts();
        o.Parse("refcount_bits=-1,size=1M");
        Assert.That(o.Print(), Is.EqualTo("cluster_size=65536 extended_l2=off compression_type=zlib size=1048576 lazy_refcounts=off refcount_bits=-1"));
    }

    [Test]
    public void HelpLines_pad_to_24_columns_and_sort()
    {
        string[] lines = QemuOpts.HelpLines(CreateOptionLists.Merge(CreateOptionLists.RawFormat)).ToArray();
        Assert.That(lines, Is.EqualTo(new[]
        {
            "  extent_size_hint=<size> - Extent size hint for the image file, 0 to disable",
            "  nocow=<bool (on/off)>  - Turn off copy-on-write (valid only on btrfs)",
            "  preallocation=<str>    - Preallocation mode (allowed values: off, falloc, full)",
            "  size=<size>            - Virtual disk size",
        }));
    }
}
