namespace Qcow2.UnitTests.Interop;

/// <summary>
/// Raw LUKS images (the luks format driver) both ways with real QEMU 7.2: images qemu-img makes are read and written by
/// qio and converted by qimg, images qimg makes (create, convert -O luks, amend) are read by qemu-io, and the two tools
/// print the same text and exit codes for info, check, measure and the refusals of a missing or wrong secret.
/// </summary>
[ParallelInterop]
public class LuksRawInteropTests : InteropFixture
{
    internal const string Secret = "secret,id=sec0,data=123456";
    private const string Secret1 = "secret,id=sec1,data=abc";
    private const string Spec = "driver=luks,key-secret=sec0,file.filename=";

    /// <summary>A 1 MiB luks image from qemu-img, built once per run (each create runs QEMU's PBKDF2 benchmark, see QemuClock).</summary>
    internal static void QemuLuks(string dir, string name, string options = "iter-time=1")
    {
        string path = Path.Combine(dir, name);
        BuiltOnce.File("luks-raw-qemu:" + options, path,
            p => ToolProcess.Must("qemu-img", dir, "create", "-q", "-f", "luks", "--object", Secret, "-o", "key-secret=sec0," + options, p, "1M"));
    }

    /// <summary>
    /// QemuClock is in force: with the default iter-time of 2 s, QEMU's benchmark rates the host at one round of 2^15
    /// iterations a second, so the slot gets about 65 000 iterations; with its own clock, millions on any machine that
    /// does PBKDF2-SHA256 at 75 000 a second or more.
    /// </summary>
    [Test]
    public void Qemu_luks_create_times_its_benchmark_on_the_test_clock()
    {
        if (QemuClock.Library is null)
        {
            QemuRequired.Missing("a C compiler (cc) for Support/QemuClock.c", "clang");
        }
        Must("qemu-img", "create", "-q", "-f", "luks", "--object", Secret, "-o", "key-secret=sec0", "d.luks", "1M");
        var info = Must("qemu-img", "info", "--output=json", "d.luks");
        using var doc = System.Text.Json.JsonDocument.Parse(info.Out);
        long iters = doc.RootElement.GetProperty("format-specific").GetProperty("data").GetProperty("slots")[0].GetProperty("iters").GetInt64();
        Assert.That(iters, Is.InRange(1000, 150_000), info.Out);
    }

    private static IEnumerable<string> Ciphers() =>
    [
        "iter-time=1",
        "iter-time=1,cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,hash-alg=sha1",
        "iter-time=1,cipher-alg=aes-192,ivgen-alg=plain,hash-alg=sha512",
    ];

    [TestCaseSource(nameof(Ciphers))]
    public void Qemu_made_luks_image_reads_and_writes_in_qio(string options)
    {
        QemuLuks(Dir, "q.luks", options);
        Must("qemu-io", "--object", Secret, "--image-opts", Spec + "q.luks", "-c", "write -P 0x5a 512 70k");
        var read = Qio(null, "--object", Secret, "--image-opts", Spec + "q.luks", "-c", "read -P 0x5a 512 70k", "-c", "write -P 0x21 300k 1000",
            "-c", "write -P 0x33 1000000 48576");
        Assert.That(read.Out, Does.Not.Contain("verification failed"));
        Assert.That(read.ExitCode, Is.EqualTo(0), read.Err);
        var back = Must("qemu-io", "--object", Secret, "--image-opts", Spec + "q.luks", "-c", "read -P 0x21 300k 1000", "-c", "read -P 0x5a 512 70k",
            "-c", "read -P 0x33 1000000 48576");
        Assert.That(back.Out, Does.Not.Contain("verification failed"));
    }

    [TestCaseSource(nameof(Ciphers))]
    public void Qimg_made_luks_image_reads_in_qemu_io_and_is_laid_out_as_qemus(string options)
    {
        var create = Qimg(null, "create", "-q", "-f", "luks", "--object", Secret, "-o", "key-secret=sec0," + options, "o.luks", "1M");
        Assert.That(create.ExitCode, Is.EqualTo(0), create.Err);
        QemuLuks(Dir, "q.luks", options);
        Assert.That(new FileInfo(Path.Combine(Dir, "o.luks")).Length, Is.EqualTo(new FileInfo(Path.Combine(Dir, "q.luks")).Length));
        var write = Qio(null, "--object", Secret, "--image-opts", Spec + "o.luks", "-c", "write -P 0x5a 512 70k", "-c", "write -P 0x21 300k 1000");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Err);
        var read = Must("qemu-io", "--object", Secret, "--image-opts", Spec + "o.luks", "-c", "read -P 0x5a 512 70k", "-c", "read -P 0x21 300k 1000");
        Assert.That(read.Out, Does.Not.Contain("verification failed"));
        AssertSameText(["info", "o.luks"], ["info", "--output=json", "o.luks"]);
    }

    [Test]
    public void Info_check_and_measure_print_as_qemu_img()
    {
        QemuLuks(Dir, "q.luks");
        AssertSameText(
            ["info", "q.luks"],
            ["info", "--output=json", "q.luks"],
            ["info", "-f", "luks", "q.luks"],
            ["check", "q.luks"],
            ["check", "--object", Secret, "--image-opts", Spec + "q.luks"],
            ["measure", "-O", "luks", "--size", "16M"],
            ["measure", "--object", Secret, "-O", "luks", "-o", "key-secret=sec0,cipher-alg=aes-128,iter-time=10", "--size", "1000"],
            ["measure", "--object", Secret, "-O", "luks", "-o", "key-secret=sec0,iter-time=10", "--image-opts", Spec + "q.luks"]);
    }

    [TestCase("-c", "read 0 512", "q.luks")]
    [TestCase("--object", Secret, "-f", "luks", "-c", "read 0 512", "q.luks")]
    [TestCase("--object", "secret,id=sec0,data=nope", "--image-opts", Spec + "q.luks", "-c", "read 0 512")]
    [TestCase("--object", Secret, "--image-opts", "driver=luks,key-secret=sec9,file.filename=q.luks", "-c", "read 0 512")]
    [TestCase("--object", Secret, "--image-opts", Spec + "q.luks,bogus=1", "-c", "read 0 512")]
    public void Missing_or_wrong_secret_is_refused_as_qemu_io_refuses_it(params string[] args)
    {
        QemuLuks(Dir, "q.luks");
        var theirs = Qemu("qemu-io", null, args);
        var ours = Qio(null, args);
        Assert.That(Normalize(ours.Out + ours.Err), Is.EqualTo(Normalize(theirs.Out + theirs.Err)));
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode));
    }

    [Test]
    public void Convert_to_and_from_luks_round_trips_through_qemu()
    {
        Must("qemu-img", "create", "-q", "-f", "raw", "src.raw", "2M");
        Must("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 1536k 4k", "src.raw");
        var convert = Qimg(null, "convert", "--object", Secret, "-O", "luks", "-o", "key-secret=sec0,iter-time=1", "src.raw", "o.luks");
        Assert.That(convert.ExitCode, Is.EqualTo(0), convert.Err);
        Must("qemu-img", "convert", "--object", Secret, "--image-opts", Spec + "o.luks", "-O", "raw", "theirs.raw");
        var back = Qimg(null, "convert", "--object", Secret, "--image-opts", Spec + "o.luks", "-O", "raw", "ours.raw");
        Assert.That(back.ExitCode, Is.EqualTo(0), back.Err);
        byte[] src = File.ReadAllBytes(Path.Combine(Dir, "src.raw"));
        Assert.That(FirstDifference(src, File.ReadAllBytes(Path.Combine(Dir, "theirs.raw"))), Is.EqualTo(-1), "QEMU reads our luks image");
        Assert.That(FirstDifference(src, File.ReadAllBytes(Path.Combine(Dir, "ours.raw"))), Is.EqualTo(-1), "we read it back");
        AssertSameText(
            ["convert", "-f", "luks", "o.luks", "-O", "raw", "x.raw"],
            ["convert", "--object", Secret, "-O", "luks", "src.raw", "x.luks"]);
    }

    [Test]
    public void Amend_adds_and_erases_keyslots_that_qemu_then_honours()
    {
        QemuLuks(Dir, "q.luks");
        Must("qemu-io", "--object", Secret, "--image-opts", Spec + "q.luks", "-c", "write -P 0x5a 0 64k");
        var add = Qimg(null, "amend", "--object", Secret, "--object", Secret1, "--image-opts", Spec + "q.luks", "-o", "state=active,new-secret=sec1,iter-time=1");
        Assert.That(add.ExitCode, Is.EqualTo(0), add.Err);
        var withNew = Must("qemu-io", "--object", Secret1, "--image-opts", "driver=luks,key-secret=sec1,file.filename=q.luks", "-c", "read -P 0x5a 0 64k");
        Assert.That(withNew.Out, Does.Not.Contain("verification failed"));
        var erase = Qimg(null, "amend", "--object", Secret, "--object", Secret1, "--image-opts", Spec + "q.luks", "-o", "state=inactive,keyslot=0");
        Assert.That(erase.ExitCode, Is.EqualTo(0), erase.Err);
        var old = Qemu("qemu-io", null, "--object", Secret, "--image-opts", Spec + "q.luks", "-c", "read 0 512");
        Assert.That(old.Err, Does.Contain("Invalid password, cannot unlock any keyslot"));
        AssertSameText(
            ["amend", "--object", Secret1, "--image-opts", "driver=luks,key-secret=sec1,file.filename=q.luks", "-o", "state=inactive,keyslot=1"],
            ["amend", "--object", Secret1, "--image-opts", "driver=luks,key-secret=sec1,file.filename=q.luks", "-o", "encrypt.state=inactive"],
            ["amend", "-f", "luks", "q.luks", "-o", "help"]);
    }

    [Test]
    public void Resize_grows_and_shrinks_the_file_as_qemu_img_does()
    {
        QemuLuks(Dir, "q.luks");
        File.Copy(Path.Combine(Dir, "q.luks"), Path.Combine(Dir, "o.luks"));
        foreach (string[] args in new[] { new[] { "3M" }, ["1M"], ["--shrink", "512k"] })
        {
            var theirs = Qemu("qemu-img", null, ["resize", "--object", Secret, "--image-opts", Spec + "q.luks", .. args]);
            var ours = Qimg(null, ["resize", "--object", Secret, "--image-opts", Spec + "o.luks", .. args]);
            Assert.That(Normalize(ours.Out + ours.Err), Is.EqualTo(Normalize(theirs.Out + theirs.Err)), string.Join(' ', args));
            Assert.That(new FileInfo(Path.Combine(Dir, "o.luks")).Length, Is.EqualTo(new FileInfo(Path.Combine(Dir, "q.luks")).Length));
        }
    }

    /// <summary>Each command prints the same text and exits with the same code in qimg as in qemu-img.</summary>
    private void AssertSameText(params string[][] commands)
    {
        foreach (string[] args in commands)
        {
            var theirs = Qemu("qemu-img", null, args);
            var ours = Qimg(null, args);
            Assert.That(Normalize(ours.Out + ours.Err), Is.EqualTo(Normalize(theirs.Out + theirs.Err)), string.Join(' ', args));
            Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), string.Join(' ', args));
        }
    }
}
