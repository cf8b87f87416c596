using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Qcow2.Crypto;

/// <summary>
/// A LUKS cipher specification as QEMU names it: a block cipher (aes, twofish, serpent) of a key size, a mode (xts,
/// cbc, ecb, ctr), an IV generator (plain64, plain, essiv with a hash) and the PBKDF2 hash. Parsed from the LUKS header's cipher name and mode
/// strings ("aes", "xts-plain64", "cbc-essiv:sha256"), or built from the qcow2 encrypt.* options.
/// </summary>
public sealed record LuksCipherSpec(int KeyBits, string Mode, string IvGen, string? IvHash, string Hash, string Cipher = "aes")
{
    /// <summary>The master key length: XTS takes two cipher keys.</summary>
    public int MasterKeyBytes => KeyBits / 8 * (Mode == "xts" ? 2 : 1);

    /// <summary>QEMU's cipher-alg name, "aes-256".</summary>
    public string CipherAlg => $"{Cipher}-{KeyBits}";

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
    /// mode, the cipher and its key size, the hash, the IV generator, the ESSIV hash). Every cipher, mode and hash QEMU
    /// knows for LUKS is computed here.
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
        return new LuksCipherSpec(perKey * 8, mode, ivgen, ivHash, hash, h.CipherName);
    }

    private static string Lookup(string name, string[] known, string type) =>
        known.Contains(name) ? name : throw new ImageOpenException($"{type} '{name}' not supported");

    /// <summary>qcrypto_block_luks_essiv_cipher: the IV cipher takes the hash's digest as its key, so the same
    /// algorithm must have a key of the digest's size (AES, Serpent and Twofish of 16, 24 or 32 bytes).</summary>
    private static void CheckEssivCipher(string cipher, int keyBytes, string hash)
    {
        int digest = DigestBytes(hash);
        if (digest == keyBytes)
        {
            return;
        }
        string? family = cipher switch { "aes" => "AES", "serpent" => "Serpent", "twofish" => "Twofish", _ => null };
        if (family is null)
        {
            throw new ImageOpenException($"Cipher {cipher}-{keyBytes * 8} not supported with essiv");
        }
        if (digest is not (16 or 24 or 32))
        {
            throw new ImageOpenException($"No {family} cipher with key size {digest} available");
        }
    }

    /// <summary>The digest length of a hash QEMU knows.</summary>
    public static int DigestBytes(string hash) =>
        hash switch { "md5" => 16, "sha1" or "ripemd160" => 20, "sha224" => 28, "sha256" => 32, "sha384" => 48, _ => 64 };

    /// <summary>The .NET-style name of a hash QEMU knows (see <see cref="HashFunction.Create"/>).</summary>
    public static HashAlgorithmName HashName(string name) => name switch
    {
        "md5" => HashAlgorithmName.MD5,
        "sha224" => HashFunction.Sha224,
        "ripemd160" => HashFunction.Ripemd160,
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
    private readonly BlockCipher? _cipher;
    private readonly BlockCipher? _essiv;

    /// <summary>Creates the cipher over a key of <see cref="LuksCipherSpec.MasterKeyBytes"/> bytes.</summary>
    public SectorCipher(LuksCipherSpec spec, ReadOnlySpan<byte> key)
    {
        _spec = spec;
        if (spec.Mode == "xts")
        {
            _xts = new Xts(spec.Cipher, key);
        }
        else
        {
            _cipher = BlockCipher.Create(spec.Cipher, key);
        }
        if (spec.IvGen == "essiv")
        {
            // ESSIV: the IV cipher is the same algorithm keyed by the hash of the data key (its size is the digest's).
            _essiv = BlockCipher.Create(spec.Cipher, HashFunction.HashData(SectorCipher.Hash(spec.IvHash!), key));
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
                case "ctr": _cipher!.Ctr(iv, chunk); break;
                case "cbc" when encrypt: _cipher!.EncryptCbc(iv, chunk); break;
                case "cbc": _cipher!.DecryptCbc(iv, chunk); break;
                case "ecb" when encrypt: _cipher!.EncryptEcb(chunk); break;
                default: _cipher!.DecryptEcb(chunk); break;
            }
        }
    }

    /// <summary>plain: the low 32 bits of the sector, little-endian; plain64: all 64; essiv: plain64 encrypted.</summary>
    private void MakeIv(long sector, Span<byte> iv)
    {
        iv.Clear();
        ulong n = _spec.IvGen == "plain" ? (uint)sector : (ulong)sector;
        BinaryPrimitives.WriteUInt64LittleEndian(iv, n);
        _essiv?.EncryptEcb(iv);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _xts?.Dispose();
        _cipher?.Dispose();
        _essiv?.Dispose();
    }
}
