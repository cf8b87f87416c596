namespace Qcow2.UnitTests.Interop;

/// <summary>
/// Encrypted qcow2 both ways with real QEMU 7.2: images qemu-img encrypts (LUKS with several ciphers, legacy AES) are
/// read and written by qio, images qimg encrypts are read by qemu-io and pass qemu-img check, and qemu-img info and
/// qimg info print the same text for the same image.
/// </summary>
[ParallelInterop]
public class EncryptionInteropTests : InteropFixture
{
    private const string Secret = LuksRawInteropTests.Secret;
    private const string Spec = "driver=qcow2,encrypt.key-secret=sec0,file.filename=";

    private static IEnumerable<string> Ciphers() =>
    [
        "encrypt.format=luks",
        "encrypt.format=luks,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.hash-alg=sha1",
        "encrypt.format=luks,encrypt.cipher-alg=aes-192,encrypt.ivgen-alg=plain,encrypt.hash-alg=sha512",
        "encryption=on",
    ];

    internal static string WithSecret(string options) =>
        options + ",encrypt.key-secret=sec0" + (options.Contains("luks", StringComparison.Ordinal) ? ",encrypt.iter-time=1" : "");

    [TestCaseSource(nameof(Ciphers))]
    public void Qemu_encrypted_image_reads_and_writes_in_qio(string options)
    {
        QemuQcow2(Dir, WithSecret(options));
        Must("qemu-io", "--object", Secret, "--image-opts", Spec + "q.qcow2", "-c", "write -P 0x5a 512 70k");
        var read = Qio(null, "--object", Secret, "--image-opts", Spec + "q.qcow2", "-c", "read -P 0x5a 512 70k", "-c", "read -P 0 0 512", "-c", "write -P 0x21 300k 1000");
        Assert.That(read.Out, Does.Not.Contain("verification failed"));
        Assert.That(read.ExitCode, Is.EqualTo(0), read.Err);
        var back = Must("qemu-io", "--object", Secret, "--image-opts", Spec + "q.qcow2", "-c", "read -P 0x21 300k 1000", "-c", "read -P 0 299k 1024", "-c", "read -P 0 308200 10000");
        Assert.That(back.Out, Does.Not.Contain("verification failed"));
        AssertQemuCheckClean();
    }

    [TestCaseSource(nameof(Ciphers))]
    public void Qimg_encrypted_image_reads_in_qemu_io(string options)
    {
        var create = Qimg(null, "create", "-q", "-f", "qcow2", "--object", Secret, "-o", WithSecret(options), "q.qcow2", "1M");
        Assert.That(create.ExitCode, Is.EqualTo(0), create.Err);
        var write = Qio(null, "--object", Secret, "--image-opts", Spec + "q.qcow2", "-c", "write -P 0x5a 512 70k", "-c", "write -P 0x21 300k 1000");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Err);
        var read = Must("qemu-io", "--object", Secret, "--image-opts", Spec + "q.qcow2", "-c", "read -P 0x5a 512 70k", "-c", "read -P 0 0 512",
            "-c", "read -P 0x21 300k 1000", "-c", "read -P 0 308200 10000");
        Assert.That(read.Out, Does.Not.Contain("verification failed"));
        AssertQemuCheckClean();
    }

    [TestCaseSource(nameof(Ciphers))]
    public void Info_text_is_qemu_imgs(string options)
    {
        QemuQcow2(Dir, WithSecret(options));
        foreach (string[] args in new[] { new[] { "info", "q.qcow2" }, ["info", "--output=json", "q.qcow2"] })
        {
            var theirs = Must("qemu-img", args);
            var ours = Qimg(null, args);
            Assert.That(Normalize(ours.Out), Is.EqualTo(Normalize(theirs.Out)), string.Join(' ', args));
        }
    }

    [Test]
    public void Wrong_secret_is_refused_as_qemu_refuses_it()
    {
        QemuQcow2(Dir, WithSecret("encrypt.format=luks"));
        string[] args = ["--object", "secret,id=sec0,data=nope", "--image-opts", Spec + "q.qcow2", "-c", "read 0 512"];
        var theirs = Qemu("qemu-io", null, args);
        var ours = Qio(null, args);
        Assert.That(Normalize(ours.Err), Is.EqualTo(Normalize(theirs.Err)));
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode));
    }

    [TestCase("metadata", "1M")]
    [TestCase("metadata", "1000000")]
    [TestCase("falloc", "1M")]
    [TestCase("full", "1000000")]
    public void Preallocated_encrypted_image_is_laid_out_as_qemus(string mode, string size)
    {
        string options = WithSecret("encrypt.format=luks") + ",preallocation=" + mode;
        var create = Qimg(null, "create", "-q", "-f", "qcow2", "--object", Secret, "-o", options, "ours.qcow2", size);
        Assert.That(create.ExitCode, Is.EqualTo(0), create.Err);
        QemuCreate(Dir, options, size, "theirs.qcow2");
        Assert.That(new FileInfo(Path.Combine(Dir, "ours.qcow2")).Length, Is.EqualTo(new FileInfo(Path.Combine(Dir, "theirs.qcow2")).Length));
        foreach (string[] args in new[] { new[] { "map", "--output=json" }, ["check"] })
        {
            var theirs = Qemu("qemu-img", null, [.. args, "--object", Secret, "--image-opts", Spec + "theirs.qcow2"]);
            var ours = Qemu("qemu-img", null, [.. args, "--object", Secret, "--image-opts", Spec + "ours.qcow2"]);
            Assert.That(ours.Out + ours.Err, Is.EqualTo(theirs.Out + theirs.Err), string.Join(' ', args));
            var ourTool = Qimg(null, [.. args, "--object", Secret, "--image-opts", Spec + "theirs.qcow2"]);
            Assert.That(Normalize(ourTool.Out + ourTool.Err), Is.EqualTo(Normalize(theirs.Out + theirs.Err)), "qimg " + string.Join(' ', args));
        }
        // QEMU writes and reads back through the clusters we preallocated, with the key we made.
        var written = Must("qemu-io", "--object", Secret, "--image-opts", Spec + "ours.qcow2", "-c", "write -P 0x11 4096 4096", "-c", "read -P 0x11 4096 4096");
        Assert.That(written.Out, Does.Not.Contain("verification failed"));
    }

    /// <summary>
    /// The 1 MiB encrypted qcow2 image qemu-img creates with these options (under the secret sec0), as name in dir. A
    /// LUKS create runs QEMU's PBKDF2 benchmark twice (over a second of CPU without QemuClock), so each is made once per
    /// run and copied (also for LuksHeaderCheckInteropTests, which breaks the header of the default one,
    /// KeyslotAmendInteropTests, which amends the default one, and LuksCipherInteropTests).
    /// </summary>
    internal static void QemuQcow2(string dir, string options, string name = "q.qcow2") =>
        BuiltOnce.File("qemu-encrypted-qcow2:" + options, Path.Combine(dir, name), _ => QemuCreate(dir, options, "1M", name));

    /// <summary>qemu-img create of an encrypted image, which must succeed.</summary>
    private static void QemuCreate(string dir, string options, string size, string name) =>
        ToolProcess.Must("qemu-img", dir, "create", "-q", "-f", "qcow2", "--object", Secret, "-o", options, name, size);

    private void AssertQemuCheckClean()
    {
        var check = Qemu("qemu-img", null, "check", "--object", Secret, "--image-opts", Spec + "q.qcow2");
        Assert.That(check.Out, Does.Contain("No errors were found on the image."), check.Out + check.Err);
        Assert.That(check.ExitCode, Is.EqualTo(0));
    }
}
