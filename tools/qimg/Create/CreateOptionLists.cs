namespace Qcow2.Tools.Qimg;

/// <summary>
/// The -o options of qemu-img create for each format, merged with the file protocol's, in the order qemu 7.2
/// prints them in its "Formatting ..." line; defaults are the values qemu prints when an option is not given.
/// </summary>
public static class CreateOptionLists
{
    private static readonly OptDesc Size = new("size", OptType.Size, "Virtual disk size");
    private static readonly OptDesc Nocow = new("nocow", OptType.Bool, "Turn off copy-on-write (valid only on btrfs)");
    private static readonly OptDesc ExtentSizeHint = new("extent_size_hint", OptType.Size, "Extent size hint for the image file, 0 to disable");

    /// <summary>The options qcow2 takes both at create and at amend (QCOW_COMMON_OPTIONS), in QEMU's order.</summary>
    public static readonly IReadOnlyList<OptDesc> Qcow2Common =
    [
        Size,
        new("compat", OptType.String, "Compatibility level (v2 [0.10] or v3 [1.1])"),
        new("backing_file", OptType.String, "File name of a base image"),
        new("backing_fmt", OptType.String, "Image format of the base image"),
        new("data_file", OptType.String, "File name of an external data file"),
        new("data_file_raw", OptType.Bool, "The external data file must stay valid as a raw image"),
        new("lazy_refcounts", OptType.Bool, "Postpone refcount updates", "off"),
        new("refcount_bits", OptType.Number, "Width of a reference count entry in bits", "16"),
    ];

    /// <summary>qcow2's own options (what `-o help` lists without a file name).</summary>
    public static readonly IReadOnlyList<OptDesc> Qcow2Format =
    [
        new("encryption", OptType.Bool, "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)"),
        new("encrypt.format", OptType.String, "Encrypt the image, format choices: 'aes', 'luks'"),
        new("encrypt.key-secret", OptType.String, "ID of secret providing qcow AES key or LUKS passphrase"),
        new("encrypt.cipher-alg", OptType.String, "Name of encryption cipher algorithm"),
        new("encrypt.cipher-mode", OptType.String, "Name of encryption cipher mode"),
        new("encrypt.ivgen-alg", OptType.String, "Name of IV generator algorithm"),
        new("encrypt.ivgen-hash-alg", OptType.String, "Name of IV generator hash algorithm"),
        new("encrypt.hash-alg", OptType.String, "Name of encryption hash algorithm"),
        new("encrypt.iter-time", OptType.Number, "Time to spend in PBKDF in milliseconds"),
        new("cluster_size", OptType.Size, "qcow2 cluster size", "65536"),
        new("extended_l2", OptType.Bool, "Extended L2 tables", "off"),
        new("preallocation", OptType.String, "Preallocation mode (allowed values: off, metadata, falloc, full)"),
        new("compression_type", OptType.String, "Compression method used for image cluster compression", "zlib"),
        .. Qcow2Common,
    ];

    /// <summary>The luks driver's options (block_crypto_create_opts_luks), in QEMU's order: the size, the key secret, then
    /// qcow2's crypto options without their "encrypt." prefix.</summary>
    public static readonly IReadOnlyList<OptDesc> LuksFormat =
    [
        Size,
        new("key-secret", OptType.String, "ID of the secret that provides the keyslot passphrase"),
        .. Qcow2Format
            .Where(d => d.Name.StartsWith("encrypt.", StringComparison.Ordinal) && d.Name is not ("encrypt.format" or "encrypt.key-secret"))
            .Select(d => d with { Name = d.Name["encrypt.".Length..] }),
    ];

    /// <summary>raw's own options.</summary>
    public static readonly IReadOnlyList<OptDesc> RawFormat = [Size];

    /// <summary>The file protocol's options, appended after the format's (names already present are skipped).</summary>
    public static readonly IReadOnlyList<OptDesc> FileProtocol =
    [
        Size,
        Nocow,
        new("preallocation", OptType.String, "Preallocation mode (allowed values: off, falloc, full)"),
        ExtentSizeHint,
    ];

    /// <summary>The format's options, or null for a format qimg cannot create.</summary>
    public static IReadOnlyList<OptDesc>? ForFormat(string format) => format switch
    {
        "qcow2" => Qcow2Format,
        "raw" => RawFormat,
        "luks" => LuksFormat,
        "file" => FileProtocol,
        _ => null,
    };

    /// <summary>qemu_opts_append(format, protocol): the format's list followed by the protocol's options it lacks.</summary>
    public static IReadOnlyList<OptDesc> Merge(IReadOnlyList<OptDesc> format)
    {
        var merged = new List<OptDesc>(format);
        foreach (OptDesc d in FileProtocol)
        {
            if (!merged.Any(m => m.Name == d.Name))
            {
                merged.Add(d);
            }
        }
        return merged;
    }
}
