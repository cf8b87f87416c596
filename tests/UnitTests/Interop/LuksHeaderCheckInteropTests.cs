using System.Buffers.Binary;
using Qcow2.UnitTests.Support;

namespace Qcow2.UnitTests.Interop;

/// <summary>
/// LUKS headers broken one field at a time, in a raw luks image and in the crypto header clusters of a qcow2 image
/// (encrypt.format=luks): qimg info and qio refuse each at open with the message and exit code of qemu-img info and
/// qemu-io 7.2 (crypto/block-luks.c's header checks, then its parsing of the cipher names).
/// </summary>
[ParallelInterop]
public class LuksHeaderCheckInteropTests : InteropFixture
{
    // LUKS v1 header fields (big-endian), as the on-disk format lays them out.
    private const int Magic = 0, Version = 6, CipherName = 8, CipherMode = 40, HashSpec = 72, PayloadOffset = 104, KeyBytes = 108,
        MasterKeyIterations = 164, Slots = 208, SlotSize = 48, SlotActive = 0, SlotIterations = 4, SlotKeyOffset = 40, SlotStripes = 44;

    /// <summary>One broken field: where (from the LUKS header's start) and what is written there, and why.</summary>
    public sealed record Breakage(string Why, int Offset, byte[] Bytes)
    {
        public override string ToString() => Why;
    }

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    private static byte[] Text(string s, int pad = 32) => System.Text.Encoding.ASCII.GetBytes(s.PadRight(pad, '\0'));

    private static IEnumerable<Breakage> Breakages() =>
    [
        new("bad magic", Magic, "LUKX"u8.ToArray()),
        new("version 2", Version, [0, 2]),
        new("cipher name without its NUL", CipherName, Text("", 32).Select(_ => (byte)'A').ToArray()),
        new("hash spec without its NUL", HashSpec, Text("", 32).Select(_ => (byte)'s').ToArray()),
        new("payload inside the header", PayloadOffset, U32(1)),
        new("master key iterations zero", MasterKeyIterations, U32(0)),
        new("stripes 0", Slots + SlotStripes, U32(0)),
        new("stripes 3999", Slots + 2 * SlotSize + SlotStripes, U32(3999)),
        new("slot state corrupt", Slots + SlotSize + SlotActive, U32(5)),
        new("active slot with zero iterations", Slots + SlotIterations, U32(0)),
        new("key material in the header", Slots + SlotKeyOffset, U32(7)),
        new("key material past the payload", Slots + 7 * SlotSize + SlotKeyOffset, U32(4000)),
        new("key material on another slot's", Slots + SlotSize + SlotKeyOffset, U32(8)),
        new("key bytes 0", KeyBytes, U32(0)),
        new("key bytes 48 (xts halves it to aes-192)", KeyBytes, U32(48)),
        new("unknown cipher", CipherName, Text("foo")),
        new("twofish in place of aes (the key slots no longer unlock)", CipherName, Text("twofish")),
        new("md5 in place of sha256 (the key slots no longer unlock)", HashSpec, Text("md5")),
        new("mode without IV generator", CipherMode, Text("xts")),
        new("unknown mode", CipherMode, Text("foo-plain64")),
        new("unknown IV generator", CipherMode, Text("xts-foo")),
        new("unknown IV hash", CipherMode, Text("xts-plain64:foo")),
        new("essiv without hash", CipherMode, Text("cbc-essiv")),
        new("ctr takes the whole key", CipherMode, Text("ctr-plain64")),
        new("unknown hash", HashSpec, Text("foo")),
    ];

    [TestCaseSource(nameof(Breakages))]
    public void Raw_luks_header_is_refused_as_qemu_refuses_it(Breakage b)
    {
        LuksRawInteropTests.QemuLuks(Dir, "b.luks");
        Poke("b.luks", 0, b);
        AssertSameRefusal("b.luks", "driver=luks,key-secret=sec0,file.filename=b.luks", b);
    }

    [TestCaseSource(nameof(Breakages))]
    public void Qcow2_luks_header_is_refused_as_qemu_refuses_it(Breakage b)
    {
        string path = Path.Combine(Dir, "b.qcow2");
        EncryptionInteropTests.QemuQcow2(Dir, EncryptionInteropTests.WithSecret("encrypt.format=luks"), "b.qcow2");
        int header = LuksHeaderStart(path);
        Poke("b.qcow2", header, b);
        AssertSameRefusal("b.qcow2", "driver=qcow2,encrypt.key-secret=sec0,file.filename=b.qcow2", b);
    }

    /// <summary>Where the LUKS magic is in the file (the qcow2 crypto header clusters).</summary>
    private static int LuksHeaderStart(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        int at = data.AsSpan().IndexOf(new byte[] { (byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE });
        Assert.That(at, Is.GreaterThan(0), "the qcow2 image holds a LUKS header");
        return at;
    }

    private void Poke(string name, int header, Breakage b)
    {
        using var f = new FileStream(Path.Combine(Dir, name), FileMode.Open, FileAccess.Write);
        f.Position = header + b.Offset;
        f.Write(b.Bytes);
    }

    /// <summary>qemu-img info (without the secret) and qemu-io (with it) against qimg and qio on the same file.</summary>
    private void AssertSameRefusal(string file, string spec, Breakage b)
    {
        string[] info = ["info", file];
        var theirs = Qemu("qemu-img", null, info);
        var ours = Qimg(null, info);
        AssertSame(ours, theirs, "info: " + b.Why);
        string[] io = ["--object", LuksRawInteropTests.Secret, "--image-opts", spec, "-c", "read 0 512"];
        var theirIo = Qemu("qemu-io", null, io);
        var ourIo = Qio(null, io);
        AssertSame(ourIo, theirIo, "qemu-io: " + b.Why);
    }

    private static void AssertSame(ToolRun ours, ToolRun theirs, string what)
    {
        string theirText = Normalize(theirs.Out + theirs.Err), ourText = Normalize(ours.Out + ours.Err);
        if (theirs.ExitCode == 0)
        {
            // An image QEMU opens: the disk size and uuid lines are the same file's, so the whole text compares.
            Assert.That(ourText, Is.EqualTo(theirText), what);
        }
        else
        {
            Assert.That(ours.Err, Is.EqualTo(Normalize(theirs.Err)), what);
        }
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), what);
    }
}
