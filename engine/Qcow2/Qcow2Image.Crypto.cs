using System.Buffers.Binary;
using Qcow2.Crypto;
using Qcow2.Format;
using Qcow2.Overlap;

namespace Qcow2;

/// <summary>
/// Encryption (block/qcow2.c with crypto/): LUKS images (crypt_method 2) keep a LUKS header in clusters named by the
/// crypto header extension and encrypt each 512-byte sector of a data cluster with the host offset as IV; legacy
/// AES images (crypt_method 1) use AES-128-CBC with the guest offset. Data goes through this layer where it meets
/// the file: <see cref="DecryptData"/> after a data read, <see cref="EncryptData"/> before a data write.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>crypt_method values of the header.</summary>
    internal const uint CryptNone = 0, CryptAes = 1, CryptLuks = 2;

    /// <summary>The crypto header extension's payload: offset and length, both 64-bit.</summary>
    private const int CryptoExtensionSize = 16;

    /// <summary>The option naming the secret (QEMU's "encrypt." prefix of the crypto options).</summary>
    private const string KeySecretOption = "encrypt.key-secret";

    private LuksVolume? _luks;
    private SectorCipher? _aesCipher;

    /// <summary>Offset and length of the LUKS header area (the crypto header extension), zero when there is none.</summary>
    internal long CryptoHeaderOffset { get; private set; }

    /// <summary>Length of the LUKS header area.</summary>
    internal long CryptoHeaderLength { get; private set; }

    /// <summary>
    /// How much of the LUKS header area the overlap checks protect (overlap type <c>crypto header</c>): the whole area, cut
    /// at the end of the file as it was at open. The extension's length is a u64 that QEMU does not bound, and only the
    /// part that exists holds key material; the cut keeps a hostile length from making the metadata list enter windows
    /// for exabytes. Zero when the area starts past the end of the file (or at an offset of 2^63 or more).
    /// </summary>
    internal long CryptoHeaderProtectedLength { get; private set; }

    /// <summary>The LUKS volume of a LUKS-encrypted image (header only when opened for metadata).</summary>
    public LuksVolume? Luks => _luks;

    /// <summary>Whether guest data is encrypted.</summary>
    public bool Encrypted => _header.CryptMethod != CryptNone;

    /// <summary>The crypto header extension (qcow2_read_extensions): checked, then the LUKS volume opened from it.</summary>
    private void ReadCryptoExtension(HeaderExtension e)
    {
        if (_header.CryptMethod != CryptLuks)
        {
            throw new ImageOpenException("CRYPTO header extension only expected with LUKS encryption method");
        }
        if (e.Data.Length != CryptoExtensionSize)
        {
            throw new ImageOpenException($"CRYPTO header extension size {e.Data.Length}, but expected size {CryptoExtensionSize}");
        }
        CryptoHeaderOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(e.Data);
        CryptoHeaderLength = (long)BinaryPrimitives.ReadUInt64BigEndian(e.Data.AsSpan(8));
        if (OffsetIntoCluster(CryptoHeaderOffset) != 0)
        {
            throw new ImageOpenException($"Encryption header offset '{(ulong)CryptoHeaderOffset}' is not a multiple of cluster size '{_clusterSize}'");
        }
        long fileLength = _file.Length;
        CryptoHeaderProtectedLength = CryptoHeaderOffset < 0 || CryptoHeaderOffset >= fileLength || CryptoHeaderLength <= 0 ? 0
            : Math.Min(CryptoHeaderLength, fileLength - CryptoHeaderOffset);
        _luks = _options.CreatedMasterKey is byte[] key && !_options.NoIo
            ? LuksVolume.OpenWithMasterKey(ReadCryptoHeader, key)
            : LuksVolume.Open(ReadCryptoHeader, Password());
    }

    /// <summary>After the extensions: the AES key, or QEMU's refusal of a LUKS image without its header.</summary>
    private void OpenEncryption()
    {
        if (_header.CryptMethod == CryptAes)
        {
            string? password = Password();
            if (password is not null)
            {
                // qcrypto_block_qcow_init: the passphrase's first 16 bytes, zero-padded, are the AES-128 key.
                var key = new byte[16];
                var bytes = System.Text.Encoding.UTF8.GetBytes(password);
                bytes.AsSpan(0, Math.Min(16, bytes.Length)).CopyTo(key);
                _aesCipher = new SectorCipher(new LuksCipherSpec(128, "cbc", "plain64", null, "sha256"), key);
            }
        }
        else if (_header.CryptMethod == CryptLuks && _luks is null)
        {
            // Without I/O (qemu-img info) QEMU skips this check and then crashes on the missing header (SIGSEGV in
            // 7.2); the engine reports the missing header to every tool.
            throw new ImageOpenException($"Missing CRYPTO header for crypt method {_header.CryptMethod}");
        }
    }

    /// <summary>The passphrase of encrypt.key-secret; null when opened for metadata only; QEMU's errors otherwise.</summary>
    private string? Password()
    {
        if (_options.NoIo)
        {
            return null;
        }
        if (_options.CreatedPassword is string created)
        {
            return created;
        }
        if (!_options.Options.TryGetValue(KeySecretOption, out string? id))
        {
            throw new ImageOpenException($"Parameter '{KeySecretOption}' is required for cipher");
        }
        return Secrets.Lookup(id);
    }

    private void ReadCryptoHeader(long offset, Span<byte> buffer)
    {
        if (offset + buffer.Length > CryptoHeaderLength)
        {
            throw new ImageOpenException("Request for data outside of extension header");
        }
        _file.Read(CryptoHeaderOffset + offset, buffer);
    }

    /// <summary>Decrypts data just read from a data cluster (qcow2_co_decrypt).</summary>
    private void DecryptData(long guest, long host, Span<byte> data)
    {
        if (_luks is not null)
        {
            _luks.Decrypt(host, data);
        }
        else
        {
            _aesCipher?.Decrypt(guest / 512, data);
        }
    }

    /// <summary>Data to write to a data cluster: the encrypted copy for an encrypted image (qcow2_co_encrypt).</summary>
    private ReadOnlySpan<byte> EncryptData(long guest, long host, ReadOnlySpan<byte> data)
    {
        if (!Encrypted)
        {
            return data;
        }
        var copy = data.ToArray();
        if (_luks is not null)
        {
            _luks.Encrypt(host, copy);
        }
        else
        {
            _aesCipher?.Encrypt(guest / 512, copy);
        }
        return copy;
    }

    /// <summary>Encrypted images have a request alignment of one sector: a request not aligned to it is widened.</summary>
    private bool NeedsSectorAlignment(long offset, int length) => Encrypted && (offset % 512 != 0 || length % 512 != 0);

    /// <summary>Reads an unaligned request of an encrypted image through a sector-aligned bounce buffer.</summary>
    private void ReadAligned(long offset, Span<byte> buffer)
    {
        long start = offset & ~511L, end = Math.Min((offset + buffer.Length + 511) & ~511L, Size);
        var bounce = new byte[end - start];
        ReadGuest(start, bounce);
        bounce.AsSpan((int)(offset - start), buffer.Length).CopyTo(buffer);
    }

    /// <summary>Writes an unaligned request of an encrypted image: read, modify, write of the sectors it touches.</summary>
    private void WriteAligned(long offset, ReadOnlySpan<byte> data)
    {
        long start = offset & ~511L, end = Math.Min((offset + data.Length + 511) & ~511L, Size);
        var bounce = new byte[end - start];
        ReadGuest(start, bounce);
        data.CopyTo(bounce.AsSpan((int)(offset - start)));
        WriteGuest(start, bounce);
    }

    /// <summary>The crypto header extension naming the LUKS area.</summary>
    private HeaderExtension CryptoExtension()
    {
        var data = new byte[CryptoExtensionSize];
        BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)CryptoHeaderOffset);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8), (ulong)CryptoHeaderLength);
        return new HeaderExtension(HeaderExtension.CryptoHeader, data);
    }

    /// <summary>
    /// qcow2_set_up_encryption on a new image: for LUKS the header area is allocated as clusters (all of them zeroed
    /// first), the volume created in it and named by the crypto header extension; legacy AES only sets
    /// the crypt method.
    /// </summary>
    private void SetUpEncryption(EncryptionCreate? e)
    {
        if (e is null)
        {
            return;
        }
        if (e.Format == "aes")
        {
            _header.CryptMethod = CryptAes;
            UpdateHeader();
            return;
        }
        long length = LuksVolume.AreaLength(e.Spec);
        long offset = AllocClusters(length);
        long clusters = (length + _clusterSize - 1) & ~(long)(_clusterSize - 1);
        // qcow2_crypto_hdr_init_func zeroes all the clusters first (allocated on the host, as QEMU's are).
        _file.WriteZeroes(offset, clusters);
        _luks = LuksVolume.Create(new LuksCreateParams(e.Password, e.Spec, e.IterTimeMs), (at, data) => _file.Write(offset + at, data));
        CryptoHeaderOffset = offset;
        CryptoHeaderLength = length;
        CryptoHeaderProtectedLength = length;
        _tracker.Enter(offset, length, OverlapTypes.CryptoHeader);
        _header.CryptMethod = CryptLuks;
        UpdateHeader();
    }

    /// <summary>calculate_refcounts: the LUKS header clusters are referenced once.</summary>
    private int CheckCryptoRefcounts(ref CheckTally res, RefcountArray table) =>
        CryptoHeaderLength == 0 ? 0 : IncRefcounts(ref res, table, CryptoHeaderOffset, CryptoHeaderLength);
}
