using System.Buffers.Binary;

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

    private readonly BlockCipher _data, _tweak;

    /// <summary>Creates AES-XTS over a double-length key (32, 48 or 64 bytes).</summary>
    public Xts(ReadOnlySpan<byte> key)
        : this("aes", key)
    {
    }

    /// <summary>Creates XTS over a 16-byte-block cipher ("aes", "twofish", "serpent") and a double-length key.</summary>
    public Xts(string cipher, ReadOnlySpan<byte> key)
    {
        if (key.Length is not (32 or 48 or 64))
        {
            throw new ArgumentOutOfRangeException(nameof(key), key.Length, "XTS key must be 32, 48 or 64 bytes");
        }
        _data = BlockCipher.Create(cipher, key[..(key.Length / 2)]);
        _tweak = BlockCipher.Create(cipher, key[(key.Length / 2)..]);
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
        iv[..BlockSize].CopyTo(t);
        _tweak.EncryptEcb(t);
        var tweaks = new byte[buffer.Length];
        for (int at = 0; at < buffer.Length; at += BlockSize)
        {
            t.CopyTo(tweaks.AsSpan(at));
            MultiplyByX(t);
        }
        BlockCipher.Xor(buffer, tweaks);
        if (encrypt)
        {
            _data.EncryptEcb(buffer);
        }
        else
        {
            _data.DecryptEcb(buffer);
        }
        BlockCipher.Xor(buffer, tweaks);
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

    /// <inheritdoc/>
    public void Dispose()
    {
        _data.Dispose();
        _tweak.Dispose();
    }
}
