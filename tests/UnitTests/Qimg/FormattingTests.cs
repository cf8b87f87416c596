using NUnit.Framework;
using Qcow2.Tools.Qimg;

namespace Qcow2.UnitTests.Qimg;

/// <summary>Human sizes, C's %g, the QDict member order and qemu's pretty JSON.</summary>
[TestFixture]
public class FormattingTests
{
    [TestCase(0UL, "0 B")]
    [TestCase(512UL, "512 B")]
    [TestCase(999UL, "999 B")]
    [TestCase(1000UL, "0.977 KiB")]
    [TestCase(1023UL, "0.999 KiB")]
    [TestCase(200704UL, "196 KiB")]
    [TestCase(197120UL, "192 KiB")]
    [TestCase(1048576UL, "1 MiB")]
    [TestCase(67108864UL, "64 MiB")]
    [TestCase(1073741824UL, "1 GiB")]
    [TestCase(1610612736UL, "1.5 GiB")]
    [TestCase(67436544UL, "64.3 MiB")]
    [TestCase(1023590UL, "1e+03 KiB")]
    [TestCase(1125899906842624UL, "1 PiB")]
    public void HumanSize_matches_size_to_str(ulong bytes, string expected)
    {
        Assert.That(HumanSize.Format(bytes), Is.EqualTo(expected));
    }

    [TestCase(192.5, 3, "192")]
    [TestCase(193.5, 3, "194")]
    [TestCase(0.0001234, 3, "0.000123")]
    [TestCase(0.00001234, 3, "1.23e-05")]
    [TestCase(1234.0, 3, "1.23e+03")]
    [TestCase(100.0, 3, "100")]
    public void FormatG_rounds_the_exact_value_half_to_even(double value, int precision, string expected)
    {
        Assert.That(HumanSize.FormatG(value, 0, precision), Is.EqualTo(expected));
    }

    [Test]
    public void QDict_iterates_image_info_members_in_qemus_order()
    {
        var d = new QDict()
            .Add("filename", "a").Add("format", "qcow2").Add("dirty-flag", false).Add("actual-size", 1L)
            .Add("virtual-size", 2L).Add("cluster-size", 3L).Add("backing-filename", "b")
            .Add("full-backing-filename", "c").Add("backing-filename-format", "raw")
            .Add("snapshots", new List<object>()).Add("format-specific", new QDict());
        Assert.That(d.Entries.Select(e => e.Key), Is.EqualTo(new[]
        {
            "backing-filename-format", "snapshots", "virtual-size", "filename", "cluster-size", "format",
            "actual-size", "format-specific", "full-backing-filename", "backing-filename", "dirty-flag",
        }));
    }

    [Test]
    public void QDict_iterates_snapshot_members_in_qemus_order()
    {
        var d = new QDict().Add("id", "1").Add("name", "s").Add("vm-state-size", 0L).Add("date-sec", 0L)
            .Add("date-nsec", 0L).Add("vm-clock-sec", 0L).Add("vm-clock-nsec", 0L).Add("icount", 0L);
        Assert.That(d.Entries.Select(e => e.Key), Is.EqualTo(new[]
        {
            "icount", "vm-clock-nsec", "name", "date-sec", "date-nsec", "vm-clock-sec", "id", "vm-state-size",
        }));
    }

    [Test]
    public void Pretty_json_nests_with_four_spaces_and_keeps_empty_containers_closed()
    {
        var d = new QDict().Add("data", new QDict().Add("compat", "1.1"))
            .Add("list", new List<object> { 1L, true }).Add("empty", new List<object>());
        string json = QJson.Pretty(d);
        Assert.That(json, Does.StartWith("{\n    \""));
        Assert.That(json, Does.Contain("\"data\": {\n        \"compat\": \"1.1\"\n    }"));
        Assert.That(json, Does.Contain("\"list\": [\n        1,\n        true\n    ]"));
        // qemu-img 7.2 breaks the line inside an empty list too (seen in info's bitmap "flags": [\n ... ]).
        Assert.That(json, Does.Contain("\"empty\": [\n    ]"));
        Assert.That(json, Does.EndWith("\n}"));
        Assert.That(QJson.Pretty(new QDict()), Is.EqualTo("{}"));
    }

    [Test]
    public void Compact_json_is_one_line_with_comma_space_between_members()
    {
        // The members in the order bdrv_refresh_filename inserts them; the text is what qemu-img 7.2 prints for
        // json:{"driver":"raw","offset":512,"size":4096,"file":{"driver":"file","filename":"a.qcow2"}}.
        var d = new QDict().Add("driver", "raw").Add("offset", 512L).Add("size", 4096L)
            .Add("file", new QDict().Add("driver", "file").Add("filename", "a.qcow2"));
        Assert.That(QJson.Compact(d),
            Is.EqualTo("{\"offset\": 512, \"driver\": \"raw\", \"size\": 4096, \"file\": {\"driver\": \"file\", \"filename\": \"a.qcow2\"}}"));
        var other = new QDict().Add("backing", QJson.Null).Add("list", new List<object> { 1L, true }).Add("empty", new QDict());
        string json = QJson.Compact(other);
        Assert.That(json, Does.Contain("\"backing\": null").And.Contain("\"list\": [1, true]").And.Contain("\"empty\": {}"));
        Assert.That(json, Does.Not.Contain("\n"));
    }

    [Test]
    public void Json_strings_escape_like_qemu()
    {
        var sb = new System.Text.StringBuilder();
        QJson.Quote(sb, "a\"b\\c/d\n\u0001é😀");
        Assert.That(sb.ToString(), Is.EqualTo("\"a\\\"b\\\\c/d\\n\\u0001\\u00E9\\uD83D\\uDE00\""));
    }

    [Test]
    public void Human_dump_turns_dashes_into_spaces()
    {
        var sb = new System.Text.StringBuilder();
        QJson.DumpHuman(sb, new QDict().Add("compat", "1.1").Add("lazy-refcounts", false).Add("refcount-bits", 16L), 1);
        Assert.That(sb.ToString(), Is.EqualTo("    compat: 1.1\n    lazy refcounts: false\n    refcount bits: 16\n"));
    }

    [TestCase(0L, "0")]
    [TestCase(65536L, "0x10000")]
    [TestCase(0xa00000L, "0xa00000")]
    public void Map_hex_matches_printf_alternate_form(long v, string expected)
    {
        Assert.That(MapCommand.Hex(v), Is.EqualTo(expected));
    }
}
