using NUnit.Framework;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Overlap;

/// <summary>Option parsing; the expected texts were taken from qemu-io 7.2 (<c>open -o ...</c>), see QemuReferenceTests below.</summary>
[TestFixture]
public class OverlapCheckOptionsTests
{
    private static OverlapCheckOptions Parse(params (string Key, string Value)[] options) =>
        OverlapCheckOptions.Parse(options.Select(o => KeyValuePair.Create(o.Key, o.Value)));

    private static string ParseError(params (string Key, string Value)[] options) =>
        Assert.Throws<ImageOpenException>(() => Parse(options))!.Message;

    [Test]
    public void Defaults_are_cached_list_64k_unlimited()
    {
        var o = Parse(("lazy-refcounts", "on"));
        Assert.Multiple(() =>
        {
            Assert.That(o.Enabled, Is.EqualTo(OverlapTemplates.Cached));
            Assert.That(o.Mode, Is.EqualTo(OverlapStructuresMode.List));
            Assert.That(o.MapCacheSize, Is.EqualTo(65536));
            Assert.That(o.TotalSizeLimit, Is.Null);
        });
    }

    // The masks' values are pinned once, in OverlapTypesTests; here the option picks the template by name.
    [TestCase("overlap-check", "all", OverlapTemplates.All)]
    [TestCase("overlap-check", "none", OverlapTemplates.None)]
    [TestCase("overlap-check.template", "constant", OverlapTemplates.Constant)]
    public void Template_selects_the_mask(string key, string value, OverlapTypes mask) =>
        Assert.That(Parse((key, value)).Enabled, Is.EqualTo(mask));

    [Test]
    public void Equal_template_and_alias_are_accepted() =>
        Assert.That(Parse(("overlap-check", "all"), ("overlap-check.template", "all")).Enabled, Is.EqualTo(OverlapTemplates.All));

    [Test]
    public void Booleans_override_template_bits()
    {
        var o = Parse(("overlap-check", "none"), ("overlap-check.inactive-l2", "on"), ("overlap-check.bitmap-directory", "yes"));
        Assert.That(o.Enabled, Is.EqualTo(OverlapTypes.InactiveL2 | OverlapTypes.BitmapDirectory));
        var p = Parse(("overlap-check.main-header", "off"), ("overlap-check.active-l2", "n"));
        Assert.That(p.Enabled, Is.EqualTo(OverlapTemplates.Cached & ~(OverlapTypes.MainHeader | OverlapTypes.ActiveL2)));
    }

    [TestCase("on", true)]
    [TestCase("yes", true)]
    [TestCase("true", true)]
    [TestCase("y", true)]
    [TestCase("off", false)]
    [TestCase("no", false)]
    [TestCase("false", false)]
    [TestCase("n", false)]
    public void Qemu_bool_spellings(string value, bool expected) =>
        Assert.That(Parse(("overlap-check", "none"), ("overlap-check.active-l1", value)).Enabled.HasFlag(OverlapTypes.ActiveL1),
            Is.EqualTo(expected));

    [TestCase("maybe")]
    [TestCase("ON")]
    [TestCase("True")]
    [TestCase("1")]
    [TestCase("0")]
    [TestCase("")]
    public void Bad_bool_gives_qemus_error(string value) =>
        Assert.That(ParseError(("overlap-check.active-l1", value)),
            Is.EqualTo("Parameter 'overlap-check.active-l1' expects 'on' or 'off'"));

    [Test]
    public void Conflicting_template_and_alias()
    {
        Assert.That(ParseError(("overlap-check", "all"), ("overlap-check.template", "none")),
            Is.EqualTo("Conflicting values for qcow2 options 'overlap-check' ('all') and 'overlap-check.template' ('none')"));
        // The conflict is found before the value is validated.
        Assert.That(ParseError(("overlap-check", "all"), ("overlap-check.template", "foo")),
            Is.EqualTo("Conflicting values for qcow2 options 'overlap-check' ('all') and 'overlap-check.template' ('foo')"));
    }

    [TestCase("overlap-check", "foo")]
    [TestCase("overlap-check", "")]
    [TestCase("overlap-check", "ALL")]
    [TestCase("overlap-check.template", "foo")]
    public void Unsupported_template(string key, string value) =>
        Assert.That(ParseError((key, value)), Is.EqualTo(
            $"Unsupported value '{value}' for qcow2 option 'overlap-check'. Allowed are any of the following: none, constant, cached, all"));

    [Test]
    public void Bad_bool_is_reported_before_a_bad_template() =>
        Assert.That(ParseError(("overlap-check", "foo"), ("overlap-check.active-l1", "maybe")),
            Is.EqualTo("Parameter 'overlap-check.active-l1' expects 'on' or 'off'"));

    [TestCase("overlap-check.main-header", "overlap-check.active-l1", "overlap-check.active-l1")]
    [TestCase("overlap-check.inactive-l2", "overlap-check.refcount-block", "overlap-check.refcount-block")]
    [TestCase("overlap-check.refcount-block", "overlap-check.inactive-l2", "overlap-check.refcount-block")]
    [TestCase("overlap-check.active-l1", "overlap-check.active-l2", "overlap-check.active-l1")]
    [TestCase("overlap-check.active-l2", "overlap-check.active-l1", "overlap-check.active-l2")]
    public void Several_bad_bools_report_the_first_in_qdict_order(string a, string b, string reported) =>
        Assert.That(ParseError((a, "x"), (b, "x")), Is.EqualTo($"Parameter '{reported}' expects 'on' or 'off'"));

    [Test]
    public void Qdict_buckets_match_qemus_tdb_hash()
    {
        // Values computed from QEMU's tdb_hash; they explain the orders observed with qemu-io 7.2.
        Assert.Multiple(() =>
        {
            Assert.That(QemuOptionSyntax.QdictBucket("overlap-check.main-header"), Is.EqualTo(347));
            Assert.That(QemuOptionSyntax.QdictBucket("overlap-check.active-l1"), Is.EqualTo(155));
            Assert.That(QemuOptionSyntax.QdictBucket("overlap-check.active-l2"), Is.EqualTo(155));
            Assert.That(QemuOptionSyntax.QdictBucket("overlap-check.refcount-table"), Is.EqualTo(511));
            Assert.That(QemuOptionSyntax.QdictBucket("overlap-check.refcount-block"), Is.EqualTo(120));
            Assert.That(QemuOptionSyntax.QdictBucket("overlap-check"), Is.EqualTo(305));
        });
    }

    [Test]
    public void Structure_sizes_use_qemu_size_syntax()
    {
        var o = Parse(("overlap-structures.bitmap-size", "16k"), ("overlap-structures.total-size-limit", "4220"));
        Assert.That(o.MapCacheSize, Is.EqualTo(16384));
        Assert.That(o.TotalSizeLimit, Is.EqualTo(4220));
        Assert.That(Parse(("overlap-structures.total-size-limit", "18446744073709551615")).TotalSizeLimit, Is.EqualTo(long.MaxValue));
    }

    [TestCase("abc")]
    [TestCase("-1")]
    [TestCase("1x")]
    [TestCase("1e3")]
    [TestCase("")]
    [TestCase("1.5")]
    [TestCase("0x")]
    [TestCase(".5k")]
    public void Bad_size_gives_qemus_error_with_hint(string value) =>
        Assert.That(ParseError(("overlap-structures.bitmap-size", value)), Is.EqualTo(
            "Parameter 'overlap-structures.bitmap-size' expects a non-negative number below 2^64\n"
            + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
            + "and exabytes, respectively."));

    [TestCase("18446744073709551616")]
    [TestCase("16E")]
    [TestCase("17179869184G")]
    public void Size_overflow_gives_out_of_range(string value) =>
        Assert.That(ParseError(("overlap-structures.total-size-limit", value)),
            Is.EqualTo($"Value '{value}' is out of range for parameter 'overlap-structures.total-size-limit'"));

    [TestCase("64k", 65536UL)]
    [TestCase("1.5k", 1536UL)]
    [TestCase("0.5k", 512UL)]
    [TestCase("1.k", 1024UL)]
    [TestCase("1.", 1UL)]
    [TestCase("+5", 5UL)]
    [TestCase("010", 10UL)]
    [TestCase("0x10", 16UL)]
    [TestCase("0X10", 16UL)]
    [TestCase("0x10k", 16384UL)]
    [TestCase("1b", 1UL)]
    [TestCase("2K", 2048UL)]
    [TestCase("1m", 1048576UL)]
    [TestCase("15E", 15UL << 60)]
    [TestCase("17179869183G", 17179869183UL << 30)]
    [TestCase("18446744073709551615b", ulong.MaxValue)]
    public void Sizes_qemu_accepts(string value, ulong expected) =>
        Assert.That(QemuOptionSyntax.ParseSize("x", value), Is.EqualTo(expected));

    [Test]
    public void Mode_switch_selects_scan_or_rejects()
    {
        Assert.That(Parse(("overlap-structures.mode", "scan")).Mode, Is.EqualTo(OverlapStructuresMode.Scan));
        Assert.That(Parse(("overlap-structures.mode", "list")).Mode, Is.EqualTo(OverlapStructuresMode.List));
        Assert.That(ParseError(("overlap-structures.mode", "tree")), Is.EqualTo(
            "Unsupported value 'tree' for qcow2 option 'overlap-structures.mode'. Allowed are any of the following: list, scan"));
    }

    [Test]
    public void Option_names_cover_every_key()
    {
        // overlap-check and its alias, one boolean per type, bitmap-size, total-size-limit and mode.
        Assert.That(OverlapCheckOptions.OptionNames, Has.Count.EqualTo(2 + OverlapTypeInfo.Count + 3));
        Assert.That(OverlapCheckOptions.IsOverlapOption("overlap-check.bitmap-directory"), Is.True);
        Assert.That(OverlapCheckOptions.IsOverlapOption("overlap-structures.total-size-limit"), Is.True);
        Assert.That(OverlapCheckOptions.IsOverlapOption("l2-cache-size"), Is.False);
    }

    [Test]
    public void No_list_when_checks_are_off_even_with_zero_limit()
    {
        // Series iotest 060 "Zero limit with overlap checks disabled": opening succeeds.
        var none = Parse(("overlap-check", "none"), ("overlap-structures.total-size-limit", "0"));
        Assert.That(none.CreateMetadataList(16, 262144, null), Is.Null);
        var scan = Parse(("overlap-structures.mode", "scan"), ("overlap-structures.total-size-limit", "0"));
        Assert.That(scan.CreateMetadataList(16, 262144, null), Is.Null);
        var zero = Parse(("overlap-structures.total-size-limit", "0"));
        var e = Assert.Throws<ImageOpenException>(() => zero.CreateMetadataList(16, 262144, null))!;
        Assert.That(e.Message, Is.EqualTo("Cannot allocate metadata list"));
        Assert.That(e.Errno, Is.EqualTo(Errno.ENOMEM));
    }
}
