using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Qcow2.Crypto;

/// <summary>
/// A LUKS cipher specification as QEMU names it: AES of a key size, a mode (xts, cbc, ecb), an IV generator
/// (plain64, plain, essiv with a hash) and the PBKDF2 hash. Parsed from the LUKS header's cipher name and mode
/// strings ("aes", "xts-plain64", "cbc-essiv:sha256"), or built from the qcow2 encrypt.* options.
/// </summary>
public sealed record LuksCipherSpec(int KeyBits, string Mode, string IvGen, string? IvHash, string Hash)
{
    /// <summary>The master key length: XTS takes two AES keys.</summary>
    public int MasterKeyBytes => KeyBits / 8 * (Mode == "xts" ? 2 : 1);

    /// <summary>QEMU's cipher-alg name, "aes-256".</summary>
    public string CipherAlg => $"aes-{KeyBits}";

    /// <summary>The LUKS header's cipher_mode string.</summary>
    public string ModeString => IvHash is null ? $"{Mode}-{IvGen}" : $"{Mode}-{IvGen}:{IvHash}";

    /// <summary>The names QEMU's enums know (QCryptoHashAlgorithm, QCryptoCipherMode, QCryptoIVGenAlgorithm).</summary>
    private static readonly string[] QemuHashes = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"],
        QemuModes = ["ecb", "cbc", "xts", "ctr"], QemuIvGens = ["plain", "plain64", "essiv"];

    /// <summary>qcrypto_block_luks_cipher_name_map: the LUKS cipher names QEMU knows, with their key sizes in bytes.</summary>
    private static readonly (string Name, int[] KeyBytes)[] QemuCiphers =
        [("aes", [16, 24, 32]), ("cast5", [16]), ("serpent", [16, 24, 32]), ("twofish", [16, 24, 32])];

    /// <summary>
    /// qcrypto_block_luks_parse_header: the header's strings parsed in QEMU's order with its messages (the IV hash, the
    /// mode, the cipher and its key size, the hash, the IV generator, the ESSIV hash); then names QEMU knows but this
    /// engine cannot compute (twofish, ctr, md5...) are refused.
    /// </summary>
    public static LuksCipherSpec FromHeader(LuksHeader h)
    {
        int dash = h.CipherMode.IndexOf('-');
        if (dash < 0)
        {
            throw new ImageOpenException($"Unexpected cipher mode string format '{h.CipherMode}'");
        }
        string mode = h.CipherMode[..dash], ivgen = h.CipherMode[(dash + 1)..];
        string? ivHash = null;
        int colon = ivgen.IndexOf(':');
        if (colon >= 0)
        {
            ivHash = Lookup(ivgen[(colon + 1)..], QemuHashes, "Hash algorithm");
            ivgen = ivgen[..colon];
        }
        Lookup(mode, QemuModes, "Cipher mode");
        int perKey = (int)h.KeyBytes / (mode == "xts" ? 2 : 1);
        if (!QemuCiphers.Any(c => c.Name == h.CipherName && c.KeyBytes.Contains(perKey)))
        {
            throw new ImageOpenException($"Algorithm '{h.CipherName}' with key size {perKey} bytes not supported");
        }
        string hash = Lookup(h.HashSpec, QemuHashes, "Hash algorithm");
        Lookup(ivgen, QemuIvGens, "IV generator");
        if (ivgen == "essiv")
        {
            if (ivHash is null)
            {
                throw new ImageOpenException("Missing IV generator hash specification");
            }
            CheckEssivCipher(h.CipherName, perKey, ivHash);
        }
        else
        {
            ivHash = null;
        }
        Unsupported("cipher", h.CipherName, h.CipherName == "aes");
        Unsupported("cipher mode", mode, mode != "ctr");
        Unsupported("hash algorithm", hash, IsNetHash(hash));
        if (ivHash is not null)
        {
            Unsupported("IV generator hash", ivHash, ivHash == "sha256");
        }
        return new LuksCipherSpec(perKey * 8, mode, ivgen, ivHash, hash);
    }

    private static string Lookup(string name, string[] known, string type) =>
        known.Contains(name) ? name : throw new ImageOpenException($"{type} '{name}' not supported");

    /// <summary>qcrypto_block_luks_essiv_cipher for AES: the IV cipher takes the hash's digest as its key, so the digest
    /// must be an AES key size.</summary>
    private static void CheckEssivCipher(string cipher, int keyBytes, string hash)
    {
        int digest = hash switch { "md5" => 16, "sha1" or "ripemd160" => 20, "sha224" => 28, "sha256" => 32, "sha384" => 48, _ => 64 };
        if (cipher == "aes" && digest != keyBytes && digest is not (16 or 24 or 32))
        {
            throw new ImageOpenException($"No AES cipher with key size {digest} available");
        }
    }

    private static void Unsupported(string what, string name, bool supported)
    {
        if (!supported)
        {
            throw new ImageOpenException($"LUKS {what} '{name}' is not supported by this engine", Errno.ENOTSUP);
        }
    }

    private static bool IsNetHash(string name) => name is "sha1" or "sha256" or "sha384" or "sha512";

    /// <summary>The .NET name of a hash.</summary>
    public static HashAlgorithmName HashName(string name) => name switch
    {
        "sha1" => HashAlgorithmName.SHA1,
        "sha384" => HashAlgorithmName.SHA384,
        "sha512" => HashAlgorithmName.SHA512,
        _ => HashAlgorithmName.SHA256,
    };
}

/// <summary>
/// Encrypts and decrypts whole 512-byte sectors with a key and a <see cref="LuksCipherSpec"/>
/// (qcrypto_block_cipher_encrypt_helper): the IV of a sector is made from its number.
/// </summary>
public sealed class SectorCipher : IDisposable
{
    private readonly LuksCipherSpec _spec;
    private readonly Xts? _xts;
    private readonly Aes? _aes;
    private readonly Aes? _essiv;

    /// <summary>Creates the cipher over a key of <see cref="LuksCipherSpec.MasterKeyBytes"/> bytes.</summary>
    public SectorCipher(LuksCipherSpec spec, ReadOnlySpan<byte> key)
    {
        _spec = spec;
        if (spec.Mode == "xts")
        {
            _xts = new Xts(key);
        }
        else
        {
            _aes = Aes.Create();
            _aes.Key = key.ToArray();
        }
        if (spec.IvGen == "essiv")
        {
            _essiv = Aes.Create();
            // ESSIV: the IV cipher's key is the hash of the data key (its AES size follows the hash length).
            _essiv.Key = CryptographicOperations.HashData(SectorCipher.Hash(spec.IvHash!), key.ToArray());
        }
    }

    private static HashAlgorithmName Hash(string name) => LuksCipherSpec.HashName(name);

    /// <summary>Encrypts data in place; data starts at sector firstSector and is whole AES blocks long.</summary>
    public void Encrypt(long firstSector, Span<byte> data) => Run(firstSector, data, true);

    /// <summary>Decrypts data in place; data starts at sector firstSector.</summary>
    public void Decrypt(long firstSector, Span<byte> data) => Run(firstSector, data, false);

    private void Run(long sector, Span<byte> data, bool encrypt)
    {
        Span<byte> iv = stackalloc byte[Xts.BlockSize];
        for (int at = 0; at < data.Length; at += LuksHeader.SectorSize, sector++)
        {
            var chunk = data.Slice(at, Math.Min(LuksHeader.SectorSize, data.Length - at));
            MakeIv(sector, iv);
            switch (_spec.Mode)
            {
                case "xts" when encrypt: _xts!.Encrypt(iv, chunk); break;
                case "xts": _xts!.Decrypt(iv, chunk); break;
                case "cbc" when encrypt: _aes!.EncryptCbc(chunk, iv, chunk, PaddingMode.None); break;
                case "cbc": _aes!.DecryptCbc(chunk, iv, chunk, PaddingMode.None); break;
                case "ecb" when encrypt: _aes!.EncryptEcb(chunk, chunk, PaddingMode.None); break;
                default: _aes!.DecryptEcb(chunk, chunk, PaddingMode.None); break;
            }
        }
    }

    /// <summary>plain: the low 32 bits of the sector, little-endian; plain64: all 64; essiv: plain64 encrypted.</summary>
    private void MakeIv(long sector, Span<byte> iv)
    {
        iv.Clear();
        ulong n = _spec.IvGen == "plain" ? (uint)sector : (ulong)sector;
        BinaryPrimitives.WriteUInt64LittleEndian(iv, n);
        _essiv?.EncryptEcb(iv, iv, PaddingMode.None);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _xts?.Dispose();
        _aes?.Dispose();
        _essiv?.Dispose();
    }
}
