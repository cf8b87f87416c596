namespace Qcow2;

/// <summary>Options of qemu-img create -f qcow2 (the -o list), with qemu-img's defaults.</summary>
public sealed class Qcow2CreateOptions
{
    /// <summary>Virtual size in bytes.</summary>
    public long Size { get; set; }

    /// <summary>Cluster size in bytes (512 B to 2 MiB, a power of two).</summary>
    public int ClusterSize { get; set; } = 65536;

    /// <summary>2 for compat=0.10, 3 for compat=1.1.</summary>
    public int Version { get; set; } = 3;

    /// <summary>Refcount width in bits (1, 2, 4, ..., 64).</summary>
    public int RefcountBits { get; set; } = 16;

    /// <summary>lazy_refcounts=on.</summary>
    public bool LazyRefcounts { get; set; }

    /// <summary>extended_l2=on.</summary>
    public bool ExtendedL2 { get; set; }

    /// <summary>compression_type: 0 zlib, 1 zstd (which sets the incompatible compression bit; version 3 only).</summary>
    public byte CompressionType { get; set; }

    /// <summary>backing_file, as it will be stored in the image.</summary>
    public string? BackingFile { get; set; }

    /// <summary>backing_fmt.</summary>
    public string? BackingFormat { get; set; }

    /// <summary>data_file: the external data file's name as stored in the image, or null.</summary>
    public string? DataFile { get; set; }

    /// <summary>Where the data file is (its name resolved by the caller); null resolves <see cref="DataFile"/> against the working directory.</summary>
    public string? DataFilePath { get; set; }

    /// <summary>data_file_raw=on: the data file stays valid as a raw image (implies preallocation=metadata).</summary>
    public bool DataFileRaw { get; set; }

    /// <summary>preallocation=off|metadata (falloc and full are treated as metadata plus allocating the file).</summary>
    public string Preallocation { get; set; } = "off";

    /// <summary>Encryption of the new image (encrypt.format luks or aes), or null for none.</summary>
    public Crypto.EncryptionCreate? Encryption { get; set; }
}
