using Qcow2.Crypto;

namespace Qcow2.UnitTests.Crypto;

/// <summary>Twofish and Serpent against published known-answer vectors, and the modes built on the cipher abstraction.</summary>
[TestFixture]
public class BlockCipherTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s);

    /// <summary>The Twofish paper's known-answer tests (zero keys and plaintexts, and its ECB_TBL entries I=2..4).</summary>
    [TestCase("00000000000000000000000000000000", "00000000000000000000000000000000", "9f589f5cf6122c32b6bfec2f2ae8c35a")]
    [TestCase("d491db16e7b1c39e86cb086b789f5419", "019f9809de1711858faac3a3ba20fbc3", "6363977de839486297e661c6c9d668eb")]
    [TestCase("0123456789abcdeffedcba98765432100011223344556677", "00000000000000000000000000000000", "cfd1d2e5a9be9cdf501f13b892bd2248")]
    [TestCase("88b2b2706b105e36b446bb6d731a1e88efa71f788965bd44", "39da69d6ba4997d585b6dc073ca341b2", "182b02d81497ea45f9daacdc29193a65")]
    [TestCase("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff", "00000000000000000000000000000000", "37527be0052334b89f0cfccae87cfa20")]
    [TestCase("d43bb7556ea32e46f2a282b7d45b4e0d57ff739d4dc92c1bd7fc01700cc8216f", "90afe91bb288544f2c32dc239b2635e6", "6cb4561c40bf0a9705931cb6d408e7fa")]
    public void Twofish_matches_known_answers(string key, string plain, string cipher) => Check("twofish", key, plain, cipher);

    /// <summary>Serpent vectors in the byte order of libgcrypt, nettle and the Linux kernel (the order LUKS uses).</summary>
    [TestCase("00000000000000000000000000000000", "d29d576fcea3a3a7ed9099f29273d78e", "b2288b968ae8b08648d1ce9606fd992d")]
    [TestCase("000000000000000000000000000000000000000000000000", "d29d576fceaba3a7ed9899f2927bd78e", "130e353e1037c22405e8faefb2c3c3e9")]
    [TestCase("0000000000000000000000000000000000000000000000000000000000000000", "d095576fcea3e3a7ed98d9f29073d78e", "b90ee5862de69168f2bdd5125b45472b")]
    [TestCase("0000000000000000000000000000000000000000000000000000000000000000", "00000000010000000200000003000000", "2061a42782bd52ec691ec383b03ba77c")]
    public void Serpent_matches_known_answers(string key, string plain, string cipher) => Check("serpent", key, plain, cipher);

    /// <summary>RFC 2144, Appendix B.1 (the 128-bit key).</summary>
    [Test]
    public void Cast5_matches_rfc_2144() => Check("cast5", "0123456712345678234567893456789a", "0123456789abcdef", "238b4fe5847e44b2");

    private static void Check(string name, string key, string plain, string cipher)
    {
        using var c = BlockCipher.Create(name, Hex(key));
        byte[] data = Hex(plain);
        c.EncryptEcb(data);
        Assert.That(Convert.ToHexString(data).ToLowerInvariant(), Is.EqualTo(cipher));
        c.DecryptEcb(data);
        Assert.That(data, Is.EqualTo(Hex(plain)));
    }

    /// <summary>NIST SP 800-38A F.5.1 (CTR-AES128), and the counter's carry across bytes run both ways.</summary>
    [Test]
    public void Ctr_matches_sp800_38a_and_carries_as_one_big_endian_number()
    {
        using var aes = BlockCipher.Create("aes", Hex("2b7e151628aed2a6abf7158809cf4f3c"));
        byte[] data = Hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        aes.Ctr(Hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), data);
        Assert.That(Convert.ToHexString(data).ToLowerInvariant(), Is.EqualTo("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"));
        byte[] zeros = new byte[32], second = new byte[16], counter = Hex("00000000000000000000ffffffffffff"), next = Hex("00000000000000000001000000000000");
        aes.Ctr(counter, zeros);
        aes.Ctr(next, second);
        Assert.That(zeros.AsSpan(16).ToArray(), Is.EqualTo(second), "block 2 uses the carried counter");
    }

    /// <summary>The generic CBC agrees with .NET's AES CBC, and every mode round-trips for each cipher.</summary>
    [TestCase("aes")]
    [TestCase("twofish")]
    [TestCase("serpent")]
    public void Sector_modes_round_trip(string name)
    {
        byte[] plain = Enumerable.Range(0, 1024).Select(i => (byte)(i * 7)).ToArray();
        foreach (var (mode, ivgen, ivHash) in new[] { ("xts", "plain64", (string?)null), ("cbc", "plain", null), ("cbc", "essiv", "sha256"), ("ecb", "plain64", null), ("ctr", "plain64", null) })
        {
            var spec = new LuksCipherSpec(256, mode, ivgen, ivHash, "sha256", name);
            byte[] key = Enumerable.Range(0, spec.MasterKeyBytes).Select(i => (byte)(i + 1)).ToArray();
            using var sc = new SectorCipher(spec, key);
            byte[] data = (byte[])plain.Clone();
            sc.Encrypt(5, data);
            Assert.That(data, Is.Not.EqualTo(plain), $"{mode}-{ivgen}");
            sc.Decrypt(5, data);
            Assert.That(data, Is.EqualTo(plain), $"{mode}-{ivgen}");
        }
    }

    [Test]
    public void Generic_cbc_matches_dotnet_aes()
    {
        byte[] key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(), iv = new byte[16];
        iv[0] = 9;
        byte[] data = Enumerable.Range(0, 64).Select(i => (byte)(i * 3)).ToArray();
        using var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = key;
        byte[] expected = aes.EncryptCbc(data, iv, System.Security.Cryptography.PaddingMode.None);
        using var generic = new GenericAes(key);
        byte[] got = (byte[])data.Clone();
        generic.EncryptCbc(iv, got);
        Assert.That(got, Is.EqualTo(expected));
        generic.DecryptCbc(iv, got);
        Assert.That(got, Is.EqualTo(data));
    }

    /// <summary>AES one block at a time, so the base class's CBC loop is what runs.</summary>
    private sealed class GenericAes(byte[] key) : BlockCipher
    {
        private readonly System.Security.Cryptography.Aes _aes = Create(key);

        public override int BlockSize => 16;

        protected override void EncryptBlock(Span<byte> block) => _aes.EncryptEcb(block, block, System.Security.Cryptography.PaddingMode.None);

        protected override void DecryptBlock(Span<byte> block) => _aes.DecryptEcb(block, block, System.Security.Cryptography.PaddingMode.None);

        private static System.Security.Cryptography.Aes Create(byte[] key)
        {
            var aes = System.Security.Cryptography.Aes.Create();
            aes.Key = key;
            return aes;
        }

        public override void Dispose()
        {
            _aes.Dispose();
            base.Dispose();
        }
    }
}
