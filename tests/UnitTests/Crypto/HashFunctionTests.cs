using System.Security.Cryptography;
using System.Text;
using Qcow2.Crypto;

namespace Qcow2.UnitTests.Crypto;

/// <summary>SHA-224 and RIPEMD-160 against their published vectors, and PBKDF2 over the engine's own HMAC.</summary>
[TestFixture]
public class HashFunctionTests
{
    private static string Hex(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();

    /// <summary>FIPS 180-4 examples (one and two blocks) and the empty message.</summary>
    [TestCase("", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f")]
    [TestCase("abc", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")]
    [TestCase("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525")]
    public void Sha224_matches_fips_180_4(string message, string digest) =>
        Assert.That(Hex(HashFunction.HashData(HashFunction.Sha224, Encoding.ASCII.GetBytes(message))), Is.EqualTo(digest));

    /// <summary>The RIPEMD-160 paper's test vectors.</summary>
    [TestCase("", "9c1185a5c5e9fc54612808977ee8f548b2258d31")]
    [TestCase("abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc")]
    [TestCase("message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36")]
    [TestCase("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "12a053384a9c0c88e405a06c27dcf49ada62eb2b")]
    public void Ripemd160_matches_the_papers_vectors(string message, string digest) =>
        Assert.That(Hex(HashFunction.HashData(HashFunction.Ripemd160, Encoding.ASCII.GetBytes(message))), Is.EqualTo(digest));

    [Test]
    public void Ripemd160_of_a_million_a_crosses_many_blocks()
    {
        using var h = HashFunction.Create(HashFunction.Ripemd160);
        byte[] chunk = Enumerable.Repeat((byte)'a', 1000).ToArray();
        for (int i = 0; i < 1000; i++)
        {
            h.Append(chunk);
        }
        var digest = new byte[20];
        h.GetHashAndReset(digest);
        Assert.That(Hex(digest), Is.EqualTo("52783243c1697bdbe16d37f97f68f08325dc1528"));
    }

    /// <summary>PBKDF2-HMAC-MD5 over the engine's HMAC against one built from .NET's HMACMD5, over two output blocks.</summary>
    [TestCase(1)]
    [TestCase(3)]
    public void Pbkdf2_md5_matches_a_reference_built_on_dotnet_hmac(int iterations)
    {
        byte[] password = Encoding.ASCII.GetBytes("password"), salt = Encoding.ASCII.GetBytes("salt");
        var expected = new List<byte>();
        for (int block = 1; expected.Count < 20; block++)
        {
            byte[] first = [.. salt, 0, 0, 0, (byte)block];
            byte[] u = HMACMD5.HashData(password, first), t = (byte[])u.Clone();
            for (int i = 1; i < iterations; i++)
            {
                u = HMACMD5.HashData(password, u);
                for (int j = 0; j < t.Length; j++)
                {
                    t[j] ^= u[j];
                }
            }
            expected.AddRange(t);
        }
        byte[] got = HashFunction.Pbkdf2(password, salt, iterations, HashAlgorithmName.MD5, 20);
        Assert.That(got, Is.EqualTo(expected.Take(20).ToArray()));
    }
}
