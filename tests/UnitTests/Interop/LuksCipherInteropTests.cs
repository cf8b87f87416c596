using System.Buffers.Binary;

namespace Qcow2.UnitTests.Interop;

/// <summary>
/// The LUKS ciphers beyond AES (Twofish, Serpent, CAST5), the ctr mode and the hashes .NET lacks (md5 for PBKDF2, sha224,
/// ripemd160), with each IV generator, both ways with real QEMU 7.2, for raw luks images and for qcow2's
/// encrypt.format=luks: images qemu-img makes are read and written by qio, converted by
/// qimg and described by qimg info as qemu-img describes them; images qimg makes are read by qemu-io.
/// </summary>
[ParallelInterop]
public class LuksCipherInteropTests : InteropFixture
{
    private const string Secret = LuksRawInteropTests.Secret;

    /// <summary>Where the payload offset (in 512-byte sectors, big-endian) sits in a LUKS v1 header.</summary>
    private const int PayloadOffsetField = 104;

    private static readonly byte[] LuksMagic = [(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE];

    /// <summary>
    /// Crypto options without their prefix; ESSIV with sha256 keys the IV cipher with 256 bits whatever the data key.
    /// QEMU 7.2 itself aborts on twofish-192, on serpent-192 outside xts and on ecb (an assertion in crypto/block.c),
    /// so those are not exercised.
    /// </summary>
    private static IEnumerable<string> Ciphers() =>
    [
        "cipher-alg=twofish-256",
        "cipher-alg=twofish-128,cipher-mode=cbc,ivgen-alg=essiv",
        "cipher-alg=twofish-256,cipher-mode=cbc,ivgen-alg=plain,hash-alg=sha512",
        "cipher-alg=serpent-256,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256",
        "cipher-alg=serpent-128",
        "cipher-alg=serpent-192,hash-alg=sha1",
        "cipher-mode=ctr",
        "cipher-alg=twofish-128,cipher-mode=ctr,ivgen-alg=essiv",
        "cipher-alg=serpent-256,cipher-mode=ctr,ivgen-alg=plain",
        "hash-alg=md5",
        "cipher-alg=serpent-128,hash-alg=sha224",
        "cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=md5,hash-alg=ripemd160",
        "cipher-alg=cast5-128,cipher-mode=cbc",
        "cipher-alg=cast5-128,cipher-mode=ctr,ivgen-alg=plain",
        "cipher-alg=cast5-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=md5,hash-alg=sha224",
    ];

    /// <summary>CAST5's 8-byte block rules out xts, and ESSIV needs a digest of its 16-byte key: refused as QEMU does.</summary>
    [TestCase("cipher-alg=cast5-128")]
    [TestCase("cipher-alg=cast5-128,cipher-mode=cbc,ivgen-alg=essiv")]
    public void Cast5_outside_its_modes_is_refused_as_qemu_refuses_it(string options)
    {
        foreach (string format in new[] { "luks", "qcow2" })
        {
            string[] args = ["create", "-q", "-f", format, "--object", Secret, "-o", CreateOptions(format, options), "x.img", "1M"];
            var theirs = Qemu("qemu-img", null, args);
            var ours = Qimg(null, args);
            Assert.That(Normalize(ours.Out + ours.Err), Is.EqualTo(Normalize(theirs.Out + theirs.Err)), format);
            Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), format);
        }
    }

    /// <summary>Raw luks ("luks") or qcow2 with the options under "encrypt.".</summary>
    private static IEnumerable<TestCaseData> Cases() =>
        from format in new[] { "luks", "qcow2" } from options in Ciphers() select new TestCaseData(format, options);

    private static string CreateOptions(string format, string options)
    {
        string all = "key-secret=sec0,iter-time=1," + options;
        return format == "luks" ? all : "encrypt.format=luks," + string.Join(',', all.Split(',').Select(o => "encrypt." + o));
    }

    private static string Spec(string format, string file) => format == "luks"
        ? "driver=luks,key-secret=sec0,file.filename=" + file
        : "driver=qcow2,encrypt.key-secret=sec0,file.filename=" + file;

    [TestCaseSource(nameof(Cases))]
    public void Qemu_made_image_reads_writes_converts_and_describes_as_qemus(string format, string options)
    {
        QemuImage(format, options, "q.img");
        Must("qemu-io", "--object", Secret, "--image-opts", Spec(format, "q.img"), "-c", "write -P 0x5a 512 70k");
        var io = Qio(null, "--object", Secret, "--image-opts", Spec(format, "q.img"), "-c", "read -P 0x5a 512 70k", "-c", "write -P 0x21 300k 1000");
        Assert.That(io.Out, Does.Not.Contain("verification failed"));
        Assert.That(io.ExitCode, Is.EqualTo(0), io.Err);
        // QEMU's convert decrypts the whole disk, qio's write included: one QEMU open checks what a qemu-io read-back would.
        Must("qemu-img", "convert", "--object", Secret, "--image-opts", Spec(format, "q.img"), "-O", "raw", "theirs.raw");
        byte[] theirs = File.ReadAllBytes(Path.Combine(Dir, "theirs.raw"));
        Assert.That(theirs.AsSpan(300 << 10, 1000).IndexOfAnyExcept((byte)0x21), Is.EqualTo(-1), "QEMU reads qio's write");
        Assert.That(theirs.AsSpan(512, 70 << 10).IndexOfAnyExcept((byte)0x5a), Is.EqualTo(-1), "QEMU reads its own write after qio's");
        var convert = Qimg(null, "convert", "--object", Secret, "--image-opts", Spec(format, "q.img"), "-O", "raw", "ours.raw");
        Assert.That(convert.ExitCode, Is.EqualTo(0), convert.Err);
        Assert.That(FirstDifference(File.ReadAllBytes(Path.Combine(Dir, "ours.raw")), theirs), Is.EqualTo(-1));
        AssertSameInfo("q.img");
    }

    [TestCaseSource(nameof(Cases))]
    public void Qimg_made_image_reads_in_qemu_io(string format, string options)
    {
        var create = Qimg(null, "create", "-q", "-f", format, "--object", Secret, "-o", CreateOptions(format, options), "o.img", "1M");
        Assert.That(create.ExitCode, Is.EqualTo(0), create.Err);
        var write = Qio(null, "--object", Secret, "--image-opts", Spec(format, "o.img"), "-c", "write -P 0x5a 512 70k", "-c", "write -P 0x21 300k 1000");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Err);
        // A fresh qcow2 reads zeros where nothing was written; a raw luks payload reads as the cipher's view of zeros.
        string[] unwritten = format == "qcow2" ? ["-c", "read -P 0 0 512"] : [];
        var read = Must("qemu-io", ["--object", Secret, "--image-opts", Spec(format, "o.img"), "-c", "read -P 0x5a 512 70k", "-c", "read -P 0x21 300k 1000",
            .. unwritten]);
        Assert.That(read.Out, Does.Not.Contain("verification failed"));
        AssertSameInfo("o.img");
    }

    /// <summary>
    /// The image qemu-img creates with these crypto options. Each create runs QEMU's PBKDF2 benchmark twice (over a
    /// second of CPU without QemuClock), so one qcow2 image per cipher is made per run and copied: as it is for "qcow2",
    /// and for "luks" as a raw luks image holding the LUKS header and key material qemu-img wrote into the qcow2's
    /// crypto header clusters (qcrypto_block_create lays them out as for the luks driver: same payload offset, same key
    /// offsets), followed by the unwritten payload that qemu-img create -f luks leaves. QEMU's own raw luks create is
    /// covered by LuksRawInteropTests.
    /// </summary>
    private void QemuImage(string format, string options, string name)
    {
        string qcow2 = format == "qcow2" ? name : "made.qcow2";
        EncryptionInteropTests.QemuQcow2(Dir, CreateOptions("qcow2", options), qcow2);
        if (format == "qcow2")
        {
            return;
        }
        byte[] made = File.ReadAllBytes(Path.Combine(Dir, qcow2));
        int header = made.AsSpan().IndexOf(LuksMagic);
        Assert.That(header, Is.GreaterThan(0), "the qcow2 image holds a LUKS header");
        int payload = checked((int)BinaryPrimitives.ReadUInt32BigEndian(made.AsSpan(header + PayloadOffsetField)) * 512);
        using (var raw = new FileStream(Path.Combine(Dir, name), FileMode.CreateNew, FileAccess.Write))
        {
            raw.Write(made, header, payload);
            raw.SetLength(payload + (1 << 20));
        }
        File.Delete(Path.Combine(Dir, qcow2));
    }

    private void AssertSameInfo(string image)
    {
        foreach (string[] args in new[] { new[] { "info", image }, ["info", "--output=json", image] })
        {
            var theirs = Must("qemu-img", args);
            var ours = Qimg(null, args);
            Assert.That(Normalize(ours.Out), Is.EqualTo(Normalize(theirs.Out)), string.Join(' ', args));
            Assert.That(ours.ExitCode, Is.EqualTo(0));
        }
    }
}
