using System.Security.Cryptography;
using System.Text;
using Qcow2.Crypto;

namespace Qcow2.UnitTests.Crypto;

/// <summary>The encryption building blocks against published vectors: XTS-AES (IEEE 1619), PBKDF2 (RFC 6070/7914), AF split.</summary>
[TestFixture]
public class CryptoPrimitiveTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s);

    /// <summary>IEEE 1619-2007 vectors 1, 2 and 3 (XTS-AES-128, data unit sequence numbers 0, 0x3333333333, 0).</summary>
    [TestCase("00000000000000000000000000000000" + "00000000000000000000000000000000", 0L,
        "0000000000000000000000000000000000000000000000000000000000000000",
        "917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e")]
    [TestCase("11111111111111111111111111111111" + "22222222222222222222222222222222", 0x3333333333L,
        "4444444444444444444444444444444444444444444444444444444444444444",
        "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0")]
    [TestCase("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0" + "22222222222222222222222222222222", 0x3333333333L,
        "4444444444444444444444444444444444444444444444444444444444444444",
        "af85336b597afc1a900b2eb21ec949d292df4c047e0b21532186a5971a227a89")]
    public void Xts_matches_ieee_1619_vectors(string key, long sector, string plain, string cipher)
    {
        using var xts = new Xts(Hex(key));
        var iv = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(iv, sector);
        byte[] data = Hex(plain);
        xts.Encrypt(iv, data);
        Assert.That(Convert.ToHexString(data).ToLowerInvariant(), Is.EqualTo(cipher));
        xts.Decrypt(iv, data);
        Assert.That(data, Is.EqualTo(Hex(plain)));
    }

    [Test]
    public void Xts_tweak_carries_across_a_512_byte_sector()
    {
        // IEEE 1619 vector 10 (XTS-AES-256, 512-byte unit 0xff): the start of the sector, then the round trip through 31 tweak multiplications.
        using var xts = new Xts(Hex("2718281828459045235360287471352662497757247093699959574966967627"
            + "3141592653589793238462643383279502884197169399375105820974944592"));
        var iv = new byte[16];
        iv[0] = 0xff;
        byte[] data = Enumerable.Range(0, 512).Select(i => (byte)i).ToArray();
        xts.Encrypt(iv, data);
        Assert.That(Convert.ToHexString(data.AsSpan(0, 32)).ToLowerInvariant(),
            Is.EqualTo("1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"));
        xts.Decrypt(iv, data);
        Assert.That(data, Is.EqualTo(Enumerable.Range(0, 512).Select(i => (byte)i).ToArray()));
    }

    [TestCase(1, "0c60c80f961f0e71f3a9b524af6012062fe037a6")]
    [TestCase(4096, "4b007901b765489abead49d926f721d065a429c1")]
    public void Pbkdf2_sha1_matches_rfc_6070(int iterations, string expected)
    {
        byte[] dk = Rfc2898DeriveBytes.Pbkdf2(Encoding.ASCII.GetBytes("password"), Encoding.ASCII.GetBytes("salt"), iterations, HashAlgorithmName.SHA1, 20);
        Assert.That(Convert.ToHexString(dk).ToLowerInvariant(), Is.EqualTo(expected));
    }

    [TestCase("sha1", 32)]
    [TestCase("sha256", 64)]
    [TestCase("sha512", 32)]
    public void Af_split_merges_back_and_spreads_the_key(string hash, int keyBytes)
    {
        byte[] key = RandomNumberGenerator.GetBytes(keyBytes);
        var name = LuksCipherSpec.HashName(hash);
        byte[] split = AfSplit.Split(name, key, 4000);
        Assert.That(split, Has.Length.EqualTo(keyBytes * 4000));
        Assert.That(AfSplit.Merge(name, split, keyBytes, 4000), Is.EqualTo(key));
        split[123] ^= 1;
        Assert.That(AfSplit.Merge(name, split, keyBytes, 4000), Is.Not.EqualTo(key), "one flipped stripe bit loses the key");
    }

    [Test]
    public void Luks_volume_unlocks_with_its_password_only()
    {
        var area = new byte[LuksVolume.AreaLength(new LuksCipherSpec(256, "xts", "plain64", null, "sha256"))];
        var spec = new LuksCipherSpec(256, "xts", "plain64", null, "sha256");
        using var created = LuksVolume.Create(new LuksCreateParams("secret", spec, 1), (at, d) => d.CopyTo(area.AsSpan((int)at)));
        byte[] sector = Enumerable.Repeat((byte)0x5a, 512).ToArray();
        created.Encrypt(4096, sector);
        using var opened = LuksVolume.Open((at, buf) => area.AsSpan((int)at, buf.Length).CopyTo(buf), "secret");
        opened.Decrypt(4096, sector);
        Assert.That(sector, Is.All.EqualTo(0x5a));
        var e = Assert.Throws<ImageOpenException>(() => LuksVolume.Open((at, buf) => area.AsSpan((int)at, buf.Length).CopyTo(buf), "wrong"));
        Assert.That(e!.Message, Is.EqualTo("Invalid password, cannot unlock any keyslot"));
        Assert.That(opened.Header.Slots.Count(s => s.Active), Is.EqualTo(1));
        Assert.That(opened.Header.PayloadOffset * 512L, Is.EqualTo(2068480));
    }
}
