using NUnit.Framework;

namespace Qcow2.UnitTests.Qimg;

/// <summary>qimg create: messages, exit codes and Formatting lines as qemu-img 7.2 prints them (texts taken from the real tool).</summary>
[TestFixture]
public class CreateCommandTests : QimgFixture
{
    private const string Qcow2Defaults = "cluster_size=65536 extended_l2=off compression_type=zlib";

    [Test]
    public void Raw_create_prints_the_formatting_line_and_makes_a_sparse_file()
    {
        RunResult r = Qimg("create", "-f", "raw", "x.raw", "64M");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo("Formatting 'x.raw', fmt=raw size=67108864\n"));
        Assert.That(r.Err, Is.Empty);
        Assert.That(new FileInfo(PathOf("x.raw")).Length, Is.EqualTo(67108864));
    }

    [TestCase("1000", 1024)]
    [TestCase("1", 512)]
    [TestCase("0", 0)]
    [TestCase("5000", 5120)]
    public void Raw_create_rounds_the_file_up_to_whole_sectors(string size, long length)
    {
        RunResult r = Qimg("create", "-q", "x.raw", size);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.Empty);
        Assert.That(new FileInfo(PathOf("x.raw")).Length, Is.EqualTo(length));
    }

    [Test]
    public void Raw_create_empties_an_existing_file()
    {
        File.WriteAllBytes(PathOf("x.raw"), Enumerable.Repeat((byte)0xAA, 4096).ToArray());
        Assert.That(Qimg("create", "-q", "-f", "raw", "x.raw", "8k").ExitCode, Is.EqualTo(0));
        Assert.That(File.ReadAllBytes(PathOf("x.raw")), Is.All.EqualTo(0));
    }

    [Test]
    public void Raw_preallocation_full_writes_the_whole_file()
    {
        RunResult r = Qimg("create", "-f", "raw", "-o", "preallocation=full", "x.raw", "1M");
        Assert.That(r.Out, Is.EqualTo("Formatting 'x.raw', fmt=raw size=1048576 preallocation=full\n"));
        Assert.That(new FileInfo(PathOf("x.raw")).Length, Is.EqualTo(1048576));
    }

    [TestCase(new[] { "-o", "preallocation=xyz" }, "qimg: x.raw: invalid parameter value: xyz\n", true)]
    [TestCase(new[] { "-o", "preallocation=metadata" }, "qimg: x.raw: Unsupported preallocation mode: metadata\n", true)]
    [TestCase(new[] { "-b", "r.raw" }, "qimg: x.raw: Backing file not supported for file format 'raw'\n", false)]
    [TestCase(new[] { "-o", "cluster_size=1" }, "qimg: x.raw: Invalid parameter 'cluster_size'\n", false)]
    [TestCase(new[] { "-o", "size=1k" }, "qimg: x.raw: The image size must be specified only once\n", false)]
    public void Raw_create_errors(string[] extra, string err, bool formatted)
    {
        RunResult r = Qimg(["create", "-f", "raw", .. extra, "x.raw", "1M"]);
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(r.Err, Is.EqualTo(err));
        Assert.That(r.Out, formatted ? Does.StartWith("Formatting 'x.raw'") : Is.Empty);
    }

    [TestCase(new string[0], "qimg: Expecting image file name\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "-f" }, "qimg: missing argument for option '-f'\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "-x", "a" }, "qimg: unrecognized option '-x'\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "-qx", "a" }, "qimg: unrecognized option '-qx'\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "a", "1M", "extra" }, "qimg: Unexpected argument: extra\nTry 'qimg --help' for more information\n")]
    [TestCase(new[] { "-o", "", "a", "1M" }, "qimg: Invalid option list: \n")]
    [TestCase(new[] { "-o", "cluster_size=4k,", "a", "1M" }, "qimg: Invalid option list: cluster_size=4k,\n")]
    [TestCase(new[] { "a", "abc" }, "qimg: Invalid image size specified. You may use k, M, G, T, P or E suffixes for\nqimg: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n")]
    [TestCase(new[] { "a", "8E" }, "qimg: Invalid image size specified. Must be between 0 and 9223372036854775807.\n")]
    [TestCase(new[] { "-f", "foo", "a", "1M" }, "qimg: a: Unknown file format 'foo'\n")]
    [TestCase(new[] { "-f", "qcow2", "a" }, "qimg: a: Image creation needs a size parameter\n")]
    public void Command_line_errors(string[] args, string err)
    {
        RunResult r = Qimg(["create", .. args]);
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(r.Out, Is.Empty);
        Assert.That(r.Err, Is.EqualTo(err));
    }

    [TestCase("", "size=67108864 lazy_refcounts=off refcount_bits=16")]
    [TestCase("cluster_size=4096,compat=0.10", "size=67108864 compat=0.10 lazy_refcounts=off refcount_bits=16")]
    [TestCase("compat=v3,lazy_refcounts=yes,refcount_bits=64", "size=67108864 compat=v3 lazy_refcounts=yes refcount_bits=64")]
    [TestCase("preallocation=metadata", "size=67108864 lazy_refcounts=off refcount_bits=16")]
    public void Qcow2_formatting_line(string options, string tail)
    {
        string[] o = options.Length == 0 ? [] : ["-o", options];
        RunResult r = Qimg(["create", "-f", "qcow2", .. o, "x.qcow2", "64M"]);
        string cluster = options.Contains("cluster_size=4096", StringComparison.Ordinal) ? "cluster_size=4096" : "cluster_size=65536";
        string prealloc = options.Contains("preallocation", StringComparison.Ordinal) ? " preallocation=metadata" : "";
        Assert.That(r.Out, Is.EqualTo($"Formatting 'x.qcow2', fmt=qcow2 {cluster} extended_l2=off{prealloc} compression_type=zlib {tail}\n"), r.ToString());
    }

    [TestCase("cluster_size=1000", "Cluster size must be a power of two between 512 and 2048k")]
    [TestCase("cluster_size=256", "Cluster size must be a power of two between 512 and 2048k")]
    [TestCase("cluster_size=4M", "Cluster size must be a power of two between 512 and 2048k")]
    [TestCase("cluster_size=0", "Cluster size must be a power of two between 512 and 2048k")]
    [TestCase("refcount_bits=3", "Refcount width must be a power of two and may not exceed 64 bits")]
    [TestCase("refcount_bits=128", "Refcount width must be a power of two and may not exceed 64 bits")]
    [TestCase("refcount_bits=0", "Refcount width must be a power of two and may not exceed 64 bits")]
    [TestCase("refcount_bits=-1", "Refcount width must be a power of two and may not exceed 64 bits")]
    [TestCase("refcount_bits=32,compat=0.10", "Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)")]
    [TestCase("lazy_refcounts=on,compat=0.10", "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)")]
    [TestCase("compat=0.10,refcount_bits=8,lazy_refcounts=on", "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)")]
    [TestCase("compat=1.0", "Parameter 'version' does not accept value '1.0'")]
    [TestCase("compat=1.0,cluster_size=1000", "Parameter 'version' does not accept value '1.0'")]
    [TestCase("preallocation=xyz", "Parameter 'preallocation' does not accept value 'xyz'")]
    [TestCase("compression_type=foo", "Parameter 'compression-type' does not accept value 'foo'")]
    [TestCase("compression_type=foo,preallocation=xyz", "Parameter 'preallocation' does not accept value 'xyz'")]
    [TestCase("compression_type=zstd,compat=0.10", "Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)")]
    [TestCase("extended_l2=on,compat=0.10", "Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)")]
    [TestCase("extended_l2=on,cluster_size=4k", "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes")]
    [TestCase("backing_fmt=raw", "Backing format cannot be used without backing file")]
    [TestCase("data_file_raw=on", "data-file-raw requires data-file")]
    [TestCase("refcount_bits=18446744073709551615", "Parameter 'refcount-bits' expects integer")]
    public void Qcow2_validation_errors_follow_the_formatting_line_and_remove_the_file(string options, string message)
    {
        File.WriteAllText(PathOf("x.qcow2"), "old contents");
        RunResult r = Qimg("create", "-f", "qcow2", "-o", options, "x.qcow2", "1M");
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(r.Out, Does.StartWith("Formatting 'x.qcow2', fmt=qcow2 "));
        Assert.That(r.Err, Is.EqualTo($"qimg: x.qcow2: {message}\n"));
        Assert.That(File.Exists(PathOf("x.qcow2")), Is.False, "qemu-img deletes the file when qcow2 creation fails");
    }

    [TestCase("lazy_refcounts=xx", "Parameter 'lazy_refcounts' expects 'on' or 'off'")]
    [TestCase("foo=bar", "Invalid parameter 'foo'")]
    [TestCase("refcount_bits=abc", "Parameter 'refcount_bits' expects a number")]
    public void Qcow2_option_parse_errors_come_before_the_formatting_line(string options, string message)
    {
        RunResult r = Qimg("create", "-f", "qcow2", "-o", options, "x.qcow2", "1M");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Out, Is.Empty);
        Assert.That(r.Err, Is.EqualTo($"qimg: x.qcow2: {message}\n"));
    }

    [TestCase("1P", "", 0)]
    [TestCase("2251799813685760", "", 1)]
    [TestCase("1T", "cluster_size=512", 1)]
    [TestCase("1025T", "extended_l2=on", 1)]
    public void Qcow2_size_limit_follows_the_l1_table_limit(string size, string options, int expected)
    {
        string[] o = options.Length == 0 ? [] : ["-o", options];
        RunResult r = Qimg(["create", "-q", "-f", "qcow2", .. o, "x.qcow2", size]);
        Assert.That(r.ExitCode, Is.EqualTo(expected), r.ToString());
        if (expected != 0)
        {
            Assert.That(r.Err, Is.EqualTo("qimg: x.qcow2: The image size is too large for file format 'qcow2' (try using a larger cluster size)\n"));
        }
    }

    [Test]
    public void Backing_file_gives_the_size_and_is_resolved_against_the_image_directory()
    {
        Directory.CreateDirectory(PathOf("sub"));
        Assert.That(Qimg("create", "-q", "-f", "raw", "sub/base.raw", "3M").ExitCode, Is.EqualTo(0));
        RunResult r = Qimg("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "sub/top.qcow2");
        Assert.That(r.Out, Is.EqualTo($"Formatting 'sub/top.qcow2', fmt=qcow2 {Qcow2Defaults} size=3145728 backing_file=base.raw backing_fmt=raw lazy_refcounts=off refcount_bits=16\n"));
        RunResult wrong = Qimg("create", "-f", "qcow2", "-b", "sub/base.raw", "-F", "raw", "sub/t2.qcow2");
        Assert.That(wrong.ExitCode, Is.EqualTo(1));
        Assert.That(wrong.Err, Is.EqualTo("qimg: sub/t2.qcow2: Could not open 'sub/sub/base.raw': No such file or directory\nCould not open backing image.\n"));
    }

    [Test]
    public void Backing_file_without_format_names_the_detected_format_without_a_newline()
    {
        Qimg("create", "-q", "r.raw", "1M");
        RunResult r = Qimg("create", "-f", "qcow2", "-b", "r.raw", "c.qcow2");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Err, Is.EqualTo("qimg: c.qcow2: Backing file specified without backing format\nDetected format of raw."));
    }

    [TestCase(new[] { "-u", "-b", "nonexist", "-F", "raw", "c.qcow2", "1M" }, 0, "")]
    [TestCase(new[] { "-u", "-b", "nonexist", "-F", "raw", "c.qcow2" }, 1, "qimg: c.qcow2: Image creation needs a size parameter\n")]
    [TestCase(new[] { "-u", "-b", "nonexist", "c.qcow2", "1M" }, 1, "qimg: c.qcow2: Backing file specified without backing format\n")]
    [TestCase(new[] { "-u", "-b", "x", "-F", "foo", "c.qcow2", "1M" }, 1, "qimg: c.qcow2: Parameter 'backing-fmt' does not accept value 'foo'\n")]
    [TestCase(new[] { "-b", "c.qcow2", "-F", "raw", "c.qcow2", "1M" }, 1, "qimg: c.qcow2: Error: Trying to create an image with the same filename as the backing file\n")]
    [TestCase(new[] { "-b", "", "-F", "raw", "c.qcow2", "1M" }, 1, "qimg: c.qcow2: Expected backing file name, got empty string\n")]
    [TestCase(new[] { "-F", "raw", "c.qcow2", "1M" }, 1, "qimg: c.qcow2: Backing format cannot be used without backing file\n")]
    public void Unsafe_and_odd_backing_options(string[] args, int code, string err)
    {
        RunResult r = Qimg(["create", "-f", "qcow2", .. args]);
        Assert.That(r.ExitCode, Is.EqualTo(code), r.ToString());
        Assert.That(r.Err, Is.EqualTo(err));
    }

    [Test]
    public void Backing_with_preallocation_needs_extended_l2()
    {
        Qimg("create", "-q", "r.raw", "1M");
        RunResult r = Qimg("create", "-f", "qcow2", "-b", "r.raw", "-F", "raw", "-o", "preallocation=metadata", "c.qcow2");
        Assert.That(r.Err, Is.EqualTo("qimg: c.qcow2: Backing file and preallocation can only be used at the same time if extended_l2 is on\n"));
    }

    [Test]
    public void Backing_file_names_print_with_commas_doubled()
    {
        RunResult r = Qimg("create", "-f", "qcow2", "-u", "-b", "a,b c'd", "-F", "raw", "x.qcow2", "1M");
        Assert.That(r.Out, Does.Contain(" backing_file=a,,b c'd backing_fmt=raw "));
    }

    [Test]
    public void Option_help_lists_the_formats_options()
    {
        RunResult r = Qimg("create", "-f", "raw", "-o", "help");
        Assert.That(r.ExitCode, Is.EqualTo(0));
        Assert.That(r.Out, Is.EqualTo("Supported raw options:\n  size=<size>            - Virtual disk size\n\n"
            + "The protocol level may support further options.\nSpecify the target filename to include those options.\n"));
    }

    [Test]
    public void Quiet_create_prints_nothing_but_errors()
    {
        Assert.That(Qimg("create", "-q", "-f", "qcow2", "-o", "refcount_bits=3", "x.qcow2", "1M").Out, Is.Empty);
    }

    [Test]
    public void Hex_sizes_with_suffixes_warn()
    {
        RunResult r = Qimg("create", "-f", "raw", "x.raw", "0x10k");
        Assert.That(r.Err, Is.EqualTo("qimg: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10k\n"));
        Assert.That(r.Out, Is.EqualTo("Formatting 'x.raw', fmt=raw size=16384\n"));
    }

    [Test]
    public void Qcow2_create_writes_an_image_qemu_img_reads()
    {
        RunResult r = Qimg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k,refcount_bits=1", "x.qcow2", "64M");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        RunResult check = Qemu("qemu-img", "check", "x.qcow2");
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
    }
}
