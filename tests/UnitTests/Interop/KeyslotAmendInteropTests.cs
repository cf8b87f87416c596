using System.Text.Json;
using System.Text.RegularExpressions;

namespace Qcow2.UnitTests.Interop;

/// <summary>
/// LUKS keyslot changes through amend, against real qemu-img 7.2: each change runs with qemu-img and with qimg on
/// copies of the same QEMU-made image, and both print the same text, exit with the same code and leave the same slots
/// active. Then both directions: slots qimg adds open the image in qemu-io, slots QEMU adds open it in qio, and erased
/// passphrases stop opening it in either.
/// </summary>
[ParallelInterop]
public class KeyslotAmendInteropTests : InteropFixture
{
    private static readonly string[] Secrets =
        ["--object", LuksRawInteropTests.Secret, "--object", "secret,id=sec1,data=def", "--object", "secret,id=sec2,data=ghi"];

    private const string Spec = "driver=qcow2,file.filename=";

    /// <summary>The amend cases: options, whether the image has three active slots (sec0, sec1, sec1) or one (sec0), and --force.</summary>
    private static IEnumerable<TestCaseData> Cases()
    {
        var one = new (string, bool)[]
        {
            ("encrypt.state=active", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.old-secret=sec0", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.keyslot=8", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.keyslot=-1", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.keyslot=0", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.keyslot=4294967296", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.keyslot=9223372036854775808", false),
            ("encrypt.state=active,encrypt.new-secret=nosuch", false),
            ("encrypt.state=active,encrypt.new-secret=,encrypt.keyslot=5", false),
            ("encrypt.new-secret=sec1", false),
            ("encrypt.state=ACTIVE,encrypt.new-secret=sec1", false),
            ("encrypt.state=foo,encrypt.keyslot=9223372036854775808", false),
            ("encrypt.state=active,encrypt.iter-time=9223372036854775808", false),
            ("encrypt.keyslot=abc", false),
            ("encrypt.key-secret=sec0", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=10", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=0", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.keyslot=0x3,encrypt.iter-time=10", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=-5", false),
            ("encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=100000000000", false),
            ("encrypt.state=inactive", false),
            ("encrypt.state=inactive,encrypt.new-secret=sec1", false),
            ("encrypt.state=inactive,encrypt.iter-time=10", false),
            ("encrypt.state=inactive,encrypt.keyslot=3", false),
            ("encrypt.state=inactive,encrypt.keyslot=0", false),
            ("encrypt.state=inactive,encrypt.keyslot=9", false),
            ("encrypt.state=inactive,encrypt.keyslot=-1", false),
            ("encrypt.state=inactive,encrypt.old-secret=sec1", false),
            ("encrypt.state=inactive,encrypt.old-secret=sec0", false),
            ("encrypt.state=inactive,encrypt.old-secret=nosuch", false),
            ("encrypt.state=inactive,encrypt.keyslot=0,encrypt.old-secret=sec1", false),
            ("encrypt.state=inactive,encrypt.old-secret=sec1", true),
            ("encrypt.state=inactive,encrypt.old-secret=sec0", true),
            ("encrypt.state=inactive,encrypt.keyslot=0", true),
            ("encrypt.state=inactive,encrypt.keyslot=2,encrypt.old-secret=sec1", true),
            ("encrypt.state=active,encrypt.new-secret=sec2,encrypt.iter-time=10,encrypt.keyslot=7", true),
            ("encrypt.state=active,encrypt.new-secret=sec2,encrypt.iter-time=10,size=2M,compat=0.10", true),
        };
        foreach (var (options, three) in one)
        {
            yield return new TestCaseData(options, three, false).SetArgDisplayNames(options, three ? "3 slots" : "1 slot");
        }
        foreach (string options in new[]
        {
            "encrypt.state=inactive,encrypt.keyslot=0", "encrypt.state=inactive,encrypt.keyslot=5",
            "encrypt.state=inactive,encrypt.old-secret=sec0", "encrypt.state=active,encrypt.new-secret=sec2,encrypt.iter-time=10,encrypt.keyslot=0",
        })
        {
            yield return new TestCaseData(options, false, true).SetArgDisplayNames(options, "1 slot", "--force");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Amend_prints_and_changes_what_qemu_img_does(string options, bool threeSlots, bool force)
    {
        MakeImage("base.qcow2", threeSlots);
        string[] args = AmendArgs(options, force, "theirs.qcow2");
        File.Copy(Path.Combine(Dir, "base.qcow2"), Path.Combine(Dir, "ours.qcow2"));
        File.Copy(Path.Combine(Dir, "base.qcow2"), Path.Combine(Dir, "theirs.qcow2"));
        var theirs = Qemu("qemu-img", null, args);
        var ours = Qimg(null, AmendArgs(options, force, "ours.qcow2"));
        Assert.That(MaskIterations(Normalize(ours.Err)), Is.EqualTo(MaskIterations(Normalize(theirs.Err))), options);
        Assert.That(ours.Out, Is.EqualTo(theirs.Out), options);
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), options);
        Assert.That(ActiveSlots("ours.qcow2"), Is.EqualTo(ActiveSlots("theirs.qcow2")), options);
    }

    [Test]
    public void Slot_qimg_adds_opens_the_image_in_qemu_io_and_the_erased_one_no_longer_does()
    {
        MakeImage("q.qcow2", threeSlots: false);
        Must("qemu-io", [.. Secrets, "--image-opts", Spec + "q.qcow2,encrypt.key-secret=sec0", "-c", "write -P 0x5a 0 64k"]);
        var add = Qimg(null, AmendArgs("encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=10,encrypt.keyslot=6", false, "q.qcow2"));
        Assert.That(add.ExitCode, Is.EqualTo(0), add.Err);
        var erase = Qimg(null, AmendArgs("encrypt.state=inactive,encrypt.old-secret=sec0", false, "q.qcow2"));
        Assert.That(erase.ExitCode, Is.EqualTo(0), erase.Err);

        var read = Must("qemu-io", [.. Secrets, "--image-opts", Spec + "q.qcow2,encrypt.key-secret=sec1", "-c", "read -P 0x5a 0 64k"]);
        Assert.That(read.Out, Does.Not.Contain("verification failed"));
        var old = Qemu("qemu-io", null, [.. Secrets, "--image-opts", Spec + "q.qcow2,encrypt.key-secret=sec0", "-c", "read 0 512"]);
        Assert.That(old.Err, Does.Contain("Invalid password, cannot unlock any keyslot"));
        var check = Qemu("qemu-img", null, ["check", .. Secrets, "--image-opts", Spec + "q.qcow2,encrypt.key-secret=sec1"]);
        Assert.That(check.Out, Does.Contain("No errors were found on the image."), check.Out + check.Err);
        Assert.That(ActiveSlots("q.qcow2"), Is.EqualTo("------+-"));
    }

    [Test]
    public void Slot_qemu_img_adds_opens_the_image_in_qio_and_the_erased_one_no_longer_does()
    {
        MakeImage("q.qcow2", threeSlots: false);
        var write = Qio(null, [.. Secrets, "--image-opts", Spec + "q.qcow2,encrypt.key-secret=sec0", "-c", "write -P 0x3c 64k 64k"]);
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Err);
        Must("qemu-img", AmendArgs("encrypt.state=active,encrypt.new-secret=sec2,encrypt.iter-time=10", false, "q.qcow2"));
        Must("qemu-img", AmendArgs("encrypt.state=inactive,encrypt.keyslot=0", false, "q.qcow2"));

        var read = Qio(null, [.. Secrets, "--image-opts", Spec + "q.qcow2,encrypt.key-secret=sec2", "-c", "read -P 0x3c 64k 64k", "-c", "read -P 0 0 64k"]);
        Assert.That(read.ExitCode, Is.EqualTo(0), read.Err);
        Assert.That(read.Out, Does.Not.Contain("verification failed"));
        var old = Qio(null, [.. Secrets, "--image-opts", Spec + "q.qcow2,encrypt.key-secret=sec0", "-c", "read 0 512"]);
        Assert.That(old.Err, Does.Contain("Invalid password, cannot unlock any keyslot"));
        var info = Qimg(null, "info", "q.qcow2");
        Assert.That(Normalize(info.Out), Is.EqualTo(Normalize(Must("qemu-img", "info", "q.qcow2").Out)));
    }

    [Test]
    public void Amend_of_an_image_opened_without_its_secret_or_not_luks_is_refused_as_qemu_refuses_it()
    {
        MakeImage("luks.qcow2", threeSlots: false);
        Must("qemu-img", "create", "-q", "-f", "qcow2", "--object", LuksRawInteropTests.Secret, "-o", "encryption=on,encrypt.key-secret=sec0", "aes.qcow2", "1M");
        Must("qemu-img", "create", "-q", "-f", "qcow2", "plain.qcow2", "1M");
        string[][] runs =
        [
            ["amend", .. Secrets, "-o", "encrypt.state=active,encrypt.new-secret=sec1", "luks.qcow2"],
            ["amend", .. Secrets, "-o", "encrypt.state=active,encrypt.new-secret=sec1", "--image-opts", Spec + "aes.qcow2,encrypt.key-secret=sec0"],
            ["amend", "-o", "encrypt.state=active", "plain.qcow2"],
        ];
        foreach (string[] args in runs)
        {
            var theirs = Qemu("qemu-img", null, args);
            var ours = Qimg(null, args);
            Assert.That(Normalize(ours.Err), Is.EqualTo(Normalize(theirs.Err)), string.Join(' ', args));
            Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), string.Join(' ', args));
        }
    }

    private static string[] AmendArgs(string options, bool force, string image) =>
        ["amend", .. Secrets, .. force ? new[] { "--force" } : [], "-o", options, "--image-opts", Spec + image + ",encrypt.key-secret=sec0"];

    /// <summary>
    /// A LUKS image made by qemu-img: slot 0 holds sec0, and with threeSlots slots 1 and 2 hold sec1. Built once per run
    /// and copied: every qemu-img create or keyslot add runs QEMU's PBKDF2 benchmark (a second of CPU without
    /// QemuClock). The one-slot image is EncryptionInteropTests' default LUKS image (same options and secret), and the
    /// three-slot one starts from it.
    /// </summary>
    private void MakeImage(string name, bool threeSlots)
    {
        if (!threeSlots)
        {
            EncryptionInteropTests.QemuQcow2(Dir, EncryptionInteropTests.WithSecret("encrypt.format=luks"), name);
            return;
        }
        BuiltOnce.File("luks-keyslots-3", Path.Combine(Dir, name), _ =>
        {
            MakeImage(name, threeSlots: false);
            for (int i = 0; i < 2; i++)
            {
                Must("qemu-img", AmendArgs("encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=1", false, name));
            }
        });
    }

    /// <summary>PBKDF2 rates come from a benchmark of each host and tool, so the figures in range errors differ.</summary>
    private static string MaskIterations(string text) => Regex.Replace(text, @"PBKDF iterations [0-9]+", "PBKDF iterations N");

    /// <summary>The slots' states as qemu-img info reports them: '+' active, '-' inactive.</summary>
    private string ActiveSlots(string image)
    {
        var info = Must("qemu-img", "info", "--output=json", image);
        using var doc = JsonDocument.Parse(info.Out);
        var slots = doc.RootElement.GetProperty("format-specific").GetProperty("data").GetProperty("encrypt").GetProperty("slots");
        return string.Concat(slots.EnumerateArray().Select(s => s.GetProperty("active").GetBoolean() ? '+' : '-'));
    }
}
