using System.Security.Cryptography;

namespace Qcow2.Crypto;

/// <summary>
/// A block cipher under a fixed key (QCryptoCipher in ECB form): the LUKS modes (xts, cbc, ecb) are built on it.
/// AES runs on .NET's implementation; Twofish, Serpent and CAST5 are this engine's own (.NET has none of them).
/// </summary>
public abstract class BlockCipher : IDisposable
{
    /// <summary>The block size in bytes.</summary>
    public abstract int BlockSize { get; }

    /// <summary>Encrypts one block in place.</summary>
    protected abstract void EncryptBlock(Span<byte> block);

    /// <summary>Decrypts one block in place.</summary>
    protected abstract void DecryptBlock(Span<byte> block);

    /// <summary>The cipher QEMU names name ("aes", "twofish", "serpent") over key.</summary>
    public static BlockCipher Create(string name, ReadOnlySpan<byte> key) => name switch
    {
        "aes" => new AesBlockCipher(key),
        "twofish" => new Twofish(key),
        "serpent" => new Serpent(key),
        "cast5" => new Cast5(key),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown block cipher"),
    };

    /// <summary>Whether this engine computes the cipher QEMU names name.</summary>
    public static bool IsSupported(string name) => name is "aes" or "twofish" or "serpent" or "cast5";

    /// <summary>Encrypts whole blocks in place, each on its own.</summary>
    public virtual void EncryptEcb(Span<byte> data)
    {
        for (int at = 0; at < data.Length; at += BlockSize)
        {
            EncryptBlock(data.Slice(at, BlockSize));
        }
    }

    /// <summary>Decrypts whole blocks in place, each on its own.</summary>
    public virtual void DecryptEcb(Span<byte> data)
    {
        for (int at = 0; at < data.Length; at += BlockSize)
        {
            DecryptBlock(data.Slice(at, BlockSize));
        }
    }

    /// <summary>CBC encryption in place: each block is XORed with the previous ciphertext (the IV first).</summary>
    public virtual void EncryptCbc(ReadOnlySpan<byte> iv, Span<byte> data)
    {
        ReadOnlySpan<byte> prev = iv[..BlockSize];
        for (int at = 0; at < data.Length; at += BlockSize)
        {
            var block = data.Slice(at, BlockSize);
            Xor(block, prev);
            EncryptBlock(block);
            prev = block;
        }
    }

    /// <summary>CBC decryption in place.</summary>
    public virtual void DecryptCbc(ReadOnlySpan<byte> iv, Span<byte> data)
    {
        Span<byte> prev = stackalloc byte[BlockSize], saved = stackalloc byte[BlockSize];
        iv[..BlockSize].CopyTo(prev);
        for (int at = 0; at < data.Length; at += BlockSize)
        {
            var block = data.Slice(at, BlockSize);
            block.CopyTo(saved);
            DecryptBlock(block);
            Xor(block, prev);
            saved.CopyTo(prev);
        }
    }

    /// <summary>
    /// Counter mode in place (encryption and decryption alike): the keystream is the cipher of a counter that starts at
    /// iv and is incremented as one big-endian number per block, as nettle's ctr_crypt and libgcrypt's CTR do for QEMU.
    /// </summary>
    public void Ctr(ReadOnlySpan<byte> iv, Span<byte> data)
    {
        const int Chunk = 512;
        Span<byte> counter = stackalloc byte[BlockSize], stream = stackalloc byte[Chunk];
        iv[..BlockSize].CopyTo(counter);
        for (int at = 0; at < data.Length; at += Chunk)
        {
            var part = data.Slice(at, Math.Min(Chunk, data.Length - at));
            var keys = stream[..part.Length];
            for (int b = 0; b < keys.Length; b += BlockSize)
            {
                counter.CopyTo(keys[b..]);
                Increment(counter);
            }
            EncryptEcb(keys);
            Xor(part, keys);
        }
    }

    private static void Increment(Span<byte> counter)
    {
        for (int i = counter.Length - 1; i >= 0 && ++counter[i] == 0; i--)
        {
        }
    }

    /// <summary>a ^= b over a's length.</summary>
    public static void Xor(Span<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            a[i] ^= b[i];
        }
    }

    /// <inheritdoc/>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>AES through .NET, whose ECB and CBC run whole buffers at once.</summary>
internal sealed class AesBlockCipher : BlockCipher
{
    private readonly Aes _aes = Aes.Create();

    public AesBlockCipher(ReadOnlySpan<byte> key) => _aes.Key = key.ToArray();

    public override int BlockSize => 16;

    protected override void EncryptBlock(Span<byte> block) => _aes.EncryptEcb(block, block, PaddingMode.None);

    protected override void DecryptBlock(Span<byte> block) => _aes.DecryptEcb(block, block, PaddingMode.None);

    public override void EncryptEcb(Span<byte> data) => _aes.EncryptEcb(data, data, PaddingMode.None);

    public override void DecryptEcb(Span<byte> data) => _aes.DecryptEcb(data, data, PaddingMode.None);

    public override void EncryptCbc(ReadOnlySpan<byte> iv, Span<byte> data) => _aes.EncryptCbc(data, iv, data, PaddingMode.None);

    public override void DecryptCbc(ReadOnlySpan<byte> iv, Span<byte> data) => _aes.DecryptCbc(data, iv, data, PaddingMode.None);

    public override void Dispose()
    {
        _aes.Dispose();
        base.Dispose();
    }
}
