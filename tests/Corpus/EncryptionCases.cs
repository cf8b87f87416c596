namespace Qcow2.Corpus;

/// <summary>
/// Encrypted images, LUKS (crypt method 2) and the legacy AES-CBC (method 1), with the secret in the sidecar: a
/// reader is given it and must return the plaintext. LUKS key material is random by the format's design (salts,
/// the master key, PBKDF2 iterations measured on the machine), so these images are the only ones that differ from one
/// generation to the next; their guest content does not. The PBKDF time is 10 ms (encrypt.iter-time) to keep every
/// reader's open fast.
/// </summary>
public static class EncryptionCases
{
    /// <summary>The secret of every encrypted case (passphrase for LUKS, key for AES).</summary>
    public const string Secret = "corpus-secret";

    /// <summary>
    /// Whether a generated file (by its file name) holds LUKS key material, which is random on every generation: the
    /// LUKS images (NAME.qcow2 of an *_encrypt_luks* case). Their backing files and every other file are deterministic.
    /// </summary>
    public static bool RandomKeyMaterial(string fileName) =>
        fileName.Contains("_encrypt_luks", StringComparison.Ordinal) && fileName.EndsWith(".qcow2", StringComparison.Ordinal);

    /// <summary>The -o options of a LUKS image with the defaults (aes-256-xts, plain64) and a short PBKDF time.</summary>
    private const string Luks = "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10";

    /// <summary>The -o options of a legacy AES image.</summary>
    private const string Aes = "encrypt.format=aes,encrypt.key-secret=sec0";

    /// <summary>Data, an unaligned write across clusters, zeros over data and over nothing, the last 64 KiB.</summary>
    private static readonly string[] Workload =
        ["write -P 0x11 0 64k", "write -P 0x22 130560 7k", "write -z 16k 8k", "write -z 1M 128k", "write -P 0x33 4032k 64k"];

    private static CorpusCase Encrypted(string name, string options, string size, params string[] commands) =>
        new(name, b =>
        {
            b.CreateEncrypted(Secret, options, size);
            b.IoEncrypted(Secret, commands);
        })
        { Secret = Secret };

    /// <summary>Every case of this group.</summary>
    public static IEnumerable<CorpusCase> All()
    {
        yield return Encrypted("y_encrypt_luks", Luks, "4M", Workload);
        yield return Encrypted("y_encrypt_luks_cluster_512", Luks + ",cluster_size=512", "4M", Workload);
        yield return Encrypted("y_encrypt_luks_cluster_2M", Luks + ",cluster_size=2M", "4M", Workload);
        yield return Encrypted("y_encrypt_luks_extended_l2", Luks + ",extended_l2=on", "4M",
            [.. Workload, "write -P 0x44 2k 2k", "write -P 0x45 200k 3k"]);
        yield return Encrypted("y_encrypt_luks_aes_128_cbc_essiv", Luks + ",encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,"
            + "encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha256,encrypt.hash-alg=sha1", "4M", Workload);
        yield return Encrypted("y_encrypt_luks_unaligned_size", Luks, "1000k", "write -P 0x11 0 4k", "write -P 0x12 999k 1k");
        yield return new("y_encrypt_luks_over_plain_backing", b =>
        {
            b.Img("create", "-q", "-f", "qcow2", "{abs}/base.qcow2", "4M");
            b.IoOn("{abs}/base.qcow2", "write -P 0xb1 0 1M");
            b.Img("create", "-q", "-f", "qcow2", "--object", $"secret,id=sec0,data={Secret}", "-o", Luks,
                "-b", "{d}/base.qcow2", "-F", "qcow2", "{img}", "4M");
            b.IoEncrypted(Secret, "write -P 0xc1 64k 64k", "write -P 0xc2 200k 4k", "write -z 512k 64k");
        })
        { Secret = Secret };
        // QEMU refuses a LUKS image without its secret, or with a wrong one ("Invalid password, cannot unlock any
        // keyslot"): a reader that returns the ciphertext instead is caught here.
        yield return Encrypted("n_encrypt_luks_wrong_secret", Luks, "4M", Workload) with { Secret = "not-the-secret" };
        yield return Encrypted("n_encrypt_luks_without_secret", Luks, "4M", Workload) with { Secret = null };
        // Legacy AES-CBC: the key is the secret's first 16 bytes, the IV the sector number. qemu-img still reads it.
        yield return Encrypted("y_encrypt_aes", Aes, "4M", Workload);
        yield return Encrypted("y_encrypt_aes_v2", Aes + ",compat=0.10", "4M", Workload);
        yield return Encrypted("y_encrypt_aes_cluster_4096", Aes + ",cluster_size=4096", "4M", Workload);
    }
}
