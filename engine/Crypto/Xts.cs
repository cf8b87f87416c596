using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Qcow2.Crypto;

/// <summary>
/// AES-XTS (IEEE 1619, as crypto/xts.c): the key is two AES keys, the first for the data and the second for the
/// tweak; each 16-byte block is XORed with the tweak before and after the data cipher, and the tweak is multiplied
/// by x in GF(2^128) from block to block. Lengths are whole blocks (LUKS sectors and key material always are).
/// </summary>
public sealed class Xts : IDisposable
{
    /// <summary>The AES block size.</summary>
    public const int BlockSize = 16;

    /// <summary>The reduction of x^128 in GF(2^128): x^7 + x^2 + x + 1.</summary>
    private const byte GfReduction = 0x87;

    private readonly Aes _data = Aes.Create(), _tweak = Aes.Create();

    /// <summary>Creates the cipher over a double-length key (32, 48 or 64 bytes).</summary>
    public Xts(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (32 or 48 or 64))
        {
            throw new ArgumentOutOfRangeException(nameof(key), key.Length, "XTS key must be 32, 48 or 64 bytes");
        }
        _data.Key = key[..(key.Length / 2)].ToArray();
        _tweak.Key = key[(key.Length / 2)..].ToArray();
    }

    /// <summary>Encrypts buffer in place with the given 16-byte IV (the tweak's plaintext).</summary>
    public void Encrypt(ReadOnlySpan<byte> iv, Span<byte> buffer) => Run(iv, buffer, encrypt: true);

    /// <summary>Decrypts buffer in place with the given 16-byte IV.</summary>
    public void Decrypt(ReadOnlySpan<byte> iv, Span<byte> buffer) => Run(iv, buffer, encrypt: false);

    private void Run(ReadOnlySpan<byte> iv, Span<byte> buffer, bool encrypt)
    {
        if (buffer.Length % BlockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(buffer), buffer.Length, "XTS length must be whole blocks");
        }
        Span<byte> t = stackalloc byte[BlockSize];
        _tweak.EncryptEcb(iv[..BlockSize], t, PaddingMode.None);
        var tweaks = new byte[buffer.Length];
        for (int at = 0; at < buffer.Length; at += BlockSize)
        {
            t.CopyTo(tweaks.AsSpan(at));
            MultiplyByX(t);
        }
        Xor(buffer, tweaks);
        if (encrypt)
        {
            _data.EncryptEcb(buffer, buffer, PaddingMode.None);
        }
        else
        {
            _data.DecryptEcb(buffer, buffer, PaddingMode.None);
        }
        Xor(buffer, tweaks);
    }

    /// <summary>The tweak times x, the tweak read as a little-endian 128-bit number.</summary>
    private static void MultiplyByX(Span<byte> t)
    {
        ulong lo = BinaryPrimitives.ReadUInt64LittleEndian(t), hi = BinaryPrimitives.ReadUInt64LittleEndian(t[8..]);
        ulong carry = hi >> 63;
        hi = (hi << 1) | (lo >> 63);
        lo = (lo << 1) ^ (carry * GfReduction);
        BinaryPrimitives.WriteUInt64LittleEndian(t, lo);
        BinaryPrimitives.WriteUInt64LittleEndian(t[8..], hi);
    }

    private static void Xor(Span<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            a[i] ^= b[i];
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _data.Dispose();
        _tweak.Dispose();
    }
}
