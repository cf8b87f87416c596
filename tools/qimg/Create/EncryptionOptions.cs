using Qcow2.Cli;
using Qcow2.Crypto;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// The encryption options of qcow2 create (encryption, encrypt.*), checked in QEMU 7.2's order and words:
/// the alias and the format first (qcow2_co_create_opts), then the crypto options, the key secret and its lookup
/// (qcrypto_block_create). Values QEMU knows but .NET's cryptography here does not (twofish, ctr, md5...) are refused.
/// </summary>
public static class EncryptionOptions
{
    private static readonly string[] CipherAlgs =
        ["aes-128", "aes-192", "aes-256", "des", "3des", "cast5-128", "serpent-128", "serpent-192", "serpent-256",
         "twofish-128", "twofish-192", "twofish-256", "sm4"];

    private static readonly string[] CipherModes = ["ecb", "cbc", "xts", "ctr"];
    private static readonly string[] IvGens = ["plain", "plain64", "essiv"];
    private static readonly string[] Hashes = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"];

    /// <summary>The format the options ask for ("aes", "luks") or null; the checks qcow2_co_create_opts makes first.</summary>
    public static string? Format(QemuOpts opts)
    {
        bool alias = opts.Get("encryption") is not null;
        string? format = opts.GetString("encrypt.format");
        if (alias && format is not null)
        {
            throw new QimgException("'encrypt.format' and its alias 'encryption' can't be used at the same time");
        }
        if (alias)
        {
            return opts.Get("encryption")!.Flag ? "aes" : null;
        }
        if (format is null)
        {
            if (opts.Descs.Any(d => d.Name.StartsWith("encrypt.", StringComparison.Ordinal) && opts.Get(d.Name) is not null))
            {
                throw new QimgException("Parameter 'encrypt.format' is missing");
            }
            return null;
        }
        return format is "aes" or "luks" ? format : throw new QimgException($"Parameter 'format' does not accept value '{format}'");
    }

    /// <summary>The encryption to create, or null; throws QEMU's message for a bad value or a missing secret.</summary>
    public static EncryptionCreate? Parse(QemuOpts opts) => Format(opts) is { } format ? Parse(opts, format, "encrypt.") : null;

    /// <summary>The LUKS options of the luks format driver, which have no prefix (key-secret, cipher-alg, ...).</summary>
    public static EncryptionCreate ParseLuks(QemuOpts opts) => Parse(opts, "luks", "");

    /// <summary>The crypto options under a prefix ("encrypt." in qcow2), checked in qcrypto_block_create's order.</summary>
    private static EncryptionCreate Parse(QemuOpts opts, string format, string prefix)
    {
        string alg = Enum(opts, prefix, "cipher-alg", CipherAlgs, "aes-256");
        string mode = Enum(opts, prefix, "cipher-mode", CipherModes, "xts");
        string ivgen = Enum(opts, prefix, "ivgen-alg", IvGens, "plain64");
        string? ivHash = opts.Get(prefix + "ivgen-hash-alg") is null && ivgen != "essiv" ? null : Enum(opts, prefix, "ivgen-hash-alg", Hashes, "sha256");
        string hash = Enum(opts, prefix, "hash-alg", Hashes, "sha256");
        long iterTime = (long)(opts.Get(prefix + "iter-time")?.Number ?? 2000);
        string secret = opts.GetString(prefix + "key-secret")
            ?? throw new QimgException($"Parameter '{prefix}key-secret' is required for cipher");
        string password;
        try
        {
            password = Secrets.Lookup(secret);
        }
        catch (ImageOpenException e)
        {
            throw new QimgException(e.Message);
        }
        if (format == "luks")
        {
            Refuse(prefix, "cipher-alg", alg, BlockCipher.IsSupported(alg[..alg.IndexOf('-')]));
            if (alg == "cast5-128" && mode == "xts")
            {
                // qcrypto_cipher_new: XTS needs a 16-byte block, CAST5's is 8.
                throw new QimgException("Unsupported cipher mode xts");
            }
            if (alg == "cast5-128" && ivgen == "essiv" && LuksCipherSpec.DigestBytes(ivHash!) != 16)
            {
                throw new QimgException("Cipher cast5-128 not supported with essiv");
            }
            if (ivHash is not null)
            {
                // ESSIV keys the IV cipher with the digest, so only digests of a cipher key size can be used.
                Refuse(prefix, "ivgen-hash-alg", ivHash, ivHash is "sha256" or "md5");
            }
        }
        int dash = alg.IndexOf('-');
        int keyBits = int.Parse(alg.AsSpan(dash + 1), System.Globalization.CultureInfo.InvariantCulture);
        var spec = format == "luks"
            ? new LuksCipherSpec(keyBits, mode, ivgen, ivgen == "essiv" ? ivHash : null, hash, alg[..dash])
            : new LuksCipherSpec(128, mode, ivgen, ivgen == "essiv" ? ivHash : null, hash);
        return new EncryptionCreate(format, password, spec, iterTime);
    }

    private static string Enum(QemuOpts opts, string prefix, string name, string[] values, string fallback)
    {
        string value = opts.GetString(prefix + name) ?? fallback;
        return values.Contains(value) ? value : throw new QimgException($"Parameter '{name}' does not accept value '{value}'");
    }

    private static void Refuse(string prefix, string name, string value, bool supported)
    {
        if (!supported)
        {
            throw new QimgException($"Option '{prefix}{name}' value '{value}' is not supported by qimg");
        }
    }
}
