using System.Buffers.Binary;
using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2.UnitTests.Engine;

/// <summary>
/// The tenth protected structure, the LUKS header of an encrypted image (ours; QEMU 7.2 does not protect it): found by the
/// linear scan and the metadata list alike, a guest write into it refused with the image marked corrupt, its own option,
/// and a hostile length in the crypto header extension cut at the end of the file.
/// </summary>
[TestFixture]
public sealed class CryptoHeaderOverlapTests
{
    private const int Cs = 65536;

    // qemu-img's layout of a 1 MiB LUKS image: header, reftable, refblock, L1, then the LUKS area of 2068480 bytes
    // (AES-256-XTS, 8 key slots of 4000 stripes) in the 32 clusters from 0x40000.
    private const long LuksOffset = 0x40000, LuksLength = 2068480;

    private static Storage.MemoryStorage LuksImage() => EngineFixture.NewLuksImage(1 << 20);

    private static Qcow2Image Open(Storage.MemoryStorage storage, string mode, params (string Key, string Value)[] options) =>
        EngineFixture.Open(storage, [EngineFixture.LuksOptions, ("overlap-structures.mode", mode), .. options]);

    [TestCase("scan")]
    [TestCase("list")]
    public void The_luks_area_is_found_across_its_start_and_in_its_last_cluster_but_not_after(string mode)
    {
        using var img = Open(LuksImage(), mode);
        long end = LuksOffset + (LuksLength + Cs - 1) / Cs * Cs;
        Assert.Multiple(() =>
        {
            Assert.That(img.CryptoHeaderOffset, Is.EqualTo(LuksOffset));
            Assert.That(img.CryptoHeaderLength, Is.EqualTo(LuksLength));
            Assert.That(img.FindOverlaps(OverlapTypes.None, LuksOffset - 512, 1024) & OverlapTypes.CryptoHeader, Is.EqualTo(OverlapTypes.CryptoHeader));
            Assert.That(img.FindOverlaps(OverlapTypes.None, LuksOffset + 4096, 512), Is.EqualTo(OverlapTypes.CryptoHeader));
            Assert.That(img.FindOverlaps(OverlapTypes.None, end - 1, 1), Is.EqualTo(OverlapTypes.CryptoHeader), "the unused tail of the last cluster");
            Assert.That(img.FindOverlaps(OverlapTypes.None, end, 512), Is.EqualTo(OverlapTypes.None));
            Assert.That(img.FindOverlaps(OverlapTypes.CryptoHeader, LuksOffset, Cs), Is.EqualTo(OverlapTypes.None));
        });
    }

    [TestCase("scan", "constant", true)]
    [TestCase("list", "cached", true)]
    [TestCase("list", "none", false)]
    [TestCase("scan", "none", false)]
    public void Templates_and_the_option_decide(string mode, string template, bool checkedByTemplate)
    {
        var storage = LuksImage();
        using (var img = Open(storage, mode, ("overlap-check", template)))
        {
            var expected = checkedByTemplate ? OverlapTypes.CryptoHeader : OverlapTypes.None;
            Assert.That(img.FindOverlaps(OverlapTypes.None, LuksOffset + Cs, Cs), Is.EqualTo(expected));
        }
        string flip = checkedByTemplate ? "off" : "on";
        using (var img = Open(storage, mode, ("overlap-check", template), ("overlap-check.crypto-header", flip)))
        {
            var expected = checkedByTemplate ? OverlapTypes.None : OverlapTypes.CryptoHeader;
            Assert.That(img.FindOverlaps(OverlapTypes.None, LuksOffset + Cs, Cs), Is.EqualTo(expected));
        }
    }

    [TestCase("scan")]
    [TestCase("list")]
    public void A_guest_write_through_an_l2_entry_into_the_luks_area_is_refused_and_marks_the_image_corrupt(string mode)
    {
        var storage = LuksImage();
        long l2;
        using (var img = Open(storage, mode))
        {
            img.Write(0, new byte[512]);
            l2 = (long)(ReadU64(storage, (long)ReadU64(storage, Header.L1TableOffsetOffset)) & L1Entry.OffsetMask);
        }
        // L2[0] := COPIED | LuksOffset: guest cluster 0 is the first cluster of the LUKS area, written in place.
        WriteU64(storage, l2, 0x8000000000000000UL | LuksOffset);
        var before = Slice(storage, LuksOffset, Cs);
        using (var img = Open(storage, mode))
        {
            var e = Assert.Throws<BlockIOException>(() => img.Write(4096, new byte[512]));
            Assert.That(e!.Errno, Is.EqualTo(Errno.EIO));
            Assert.That(img.Corrupt, Is.True);
        }
        Assert.That(Slice(storage, LuksOffset, Cs), Is.EqualTo(before), "the key material is untouched");
    }

    [TestCase("scan")]
    [TestCase("list")]
    public void A_length_past_the_end_of_the_file_is_protected_up_to_the_end_only(string mode)
    {
        var storage = LuksImage();
        // The crypto header extension's length := 2^62 (QEMU opens such an image: LUKS reads only what it needs).
        long at = FindExtension(storage, HeaderExtension.CryptoHeader);
        WriteU64(storage, at + 8 + 8, 1UL << 62);
        long fileEnd = storage.Length;
        using var img = Open(storage, mode, ("overlap-check", "all"));
        Assert.Multiple(() =>
        {
            Assert.That(img.CryptoHeaderLength, Is.EqualTo(1L << 62));
            Assert.That(img.CryptoHeaderProtectedLength, Is.EqualTo(fileEnd - LuksOffset));
            Assert.That(img.FindOverlaps(OverlapTypes.None, fileEnd - 512, 512), Is.EqualTo(OverlapTypes.CryptoHeader));
            Assert.That(img.FindOverlaps(OverlapTypes.None, fileEnd, 512), Is.EqualTo(OverlapTypes.None));
        });
    }

    private static long FindExtension(Storage.MemoryStorage storage, uint magic)
    {
        var cluster0 = Slice(storage, 0, Cs);
        uint headerLength = BinaryPrimitives.ReadUInt32BigEndian(cluster0.AsSpan(Header.HeaderLengthOffset));
        for (int at = (int)headerLength; at + 8 <= Cs;)
        {
            uint m = BinaryPrimitives.ReadUInt32BigEndian(cluster0.AsSpan(at));
            uint len = BinaryPrimitives.ReadUInt32BigEndian(cluster0.AsSpan(at + 4));
            if (m == magic)
            {
                return at;
            }
            Assert.That(m, Is.Not.Zero, $"no extension 0x{magic:x8}");
            at += 8 + (int)((len + 7) & ~7u);
        }
        throw new AssertionException($"no extension 0x{magic:x8}");
    }

    private static byte[] Slice(Storage.MemoryStorage storage, long offset, int length)
    {
        var b = new byte[length];
        storage.Read(offset, b);
        return b;
    }

    private static ulong ReadU64(Storage.MemoryStorage storage, long offset) => BinaryPrimitives.ReadUInt64BigEndian(Slice(storage, offset, 8));

    private static void WriteU64(Storage.MemoryStorage storage, long offset, ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        storage.Write(offset, b);
    }
}
