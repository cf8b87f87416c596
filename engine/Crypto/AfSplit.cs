using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Qcow2.Crypto;

/// <summary>
/// The LUKS anti-forensic splitter (crypto/afsplit.c): a key is spread over many stripes so that losing any one of
/// them loses the key. Between stripes the running block is diffused by hashing it digest-sized piece by piece,
/// each piece prefixed by its big-endian index.
/// </summary>
public static class AfSplit
{
    /// <summary>Splits key into stripes * key.Length bytes (random stripes, the last one carrying the key).</summary>
    public static byte[] Split(HashAlgorithmName hash, ReadOnlySpan<byte> key, int stripes)
    {
        int n = key.Length;
        var split = new byte[checked(n * stripes)];
        RandomNumberGenerator.Fill(split.AsSpan(0, n * (stripes - 1)));
        var block = new byte[n];
        for (int i = 0; i < stripes - 1; i++)
        {
            Xor(block, split.AsSpan(i * n, n));
            Diffuse(hash, block);
        }
        var last = split.AsSpan((stripes - 1) * n, n);
        for (int j = 0; j < n; j++)
        {
            last[j] = (byte)(block[j] ^ key[j]);
        }
        return split;
    }

    /// <summary>Recovers the key of length keyLength from split material of keyLength * stripes bytes.</summary>
    public static byte[] Merge(HashAlgorithmName hash, ReadOnlySpan<byte> split, int keyLength, int stripes)
    {
        var block = new byte[keyLength];
        for (int i = 0; i < stripes - 1; i++)
        {
            Xor(block, split.Slice(i * keyLength, keyLength));
            Diffuse(hash, block);
        }
        Xor(block, split.Slice((stripes - 1) * keyLength, keyLength));
        return block;
    }

    private static void Diffuse(HashAlgorithmName hash, Span<byte> block)
    {
        using var h = HashFunction.Create(hash);
        int digest = h.DigestBytes;
        Span<byte> index = stackalloc byte[4];
        Span<byte> output = stackalloc byte[64];
        for (int at = 0, i = 0; at < block.Length; at += digest, i++)
        {
            int len = Math.Min(digest, block.Length - at);
            BinaryPrimitives.WriteUInt32BigEndian(index, (uint)i);
            h.Append(index);
            h.Append(block.Slice(at, len));
            h.GetHashAndReset(output);
            output[..len].CopyTo(block[at..]);
        }
    }

    private static void Xor(Span<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            a[i] ^= b[i];
        }
    }
}
