using Qcow2.Crypto;

namespace Qcow2;

/// <summary>
/// Keyslot changes through amend (qcow2_amend_options with encrypt.* options): the options are read as QEMU's QAPI
/// visitor reads them into QCryptoBlockAmendOptionsLUKS (state, new-secret, old-secret, keyslot, iter-time, in that
/// order), then the LUKS volume changes its keyslots, reading and writing the header clusters.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>The encrypt.* checks of qcow2_amend_options' option loop.</summary>
    private void CheckEncryptionAmendable()
    {
        if (!Encrypted)
        {
            throw AmendError("Can't amend encryption options - encryption not present", Errno.EINVAL);
        }
        if (_header.CryptMethod != CryptLuks)
        {
            throw AmendError("Only LUKS encryption options can be amended", Errno.ENOTSUP);
        }
    }

    /// <summary>block_crypto_amend_opts_init, then qcrypto_block_amend_options on the image's LUKS volume.</summary>
    private void AmendEncryption(IReadOnlyDictionary<string, string> options, bool force)
    {
        var change = ReadKeyslotChange(options);
        var luks = _luks ?? throw AmendError($"Missing CRYPTO header for crypt method {_header.CryptMethod}", Errno.EINVAL);
        luks.AmendKeyslots(change, force, ReadCryptoHeader, WriteCryptoHeader);
    }

    /// <summary>The QAPI visitor's reading of the options, with its messages (the names without the "encrypt." prefix).</summary>
    private LuksKeyslotChange ReadKeyslotChange(IReadOnlyDictionary<string, string> o)
    {
        try
        {
            return LuksKeyslotChange.Parse(o);
        }
        catch (ImageChangeException e)
        {
            throw AmendError(e.Message, e.Errno);
        }
    }

    /// <summary>qcow2_crypto_hdr_write_func: writes inside the LUKS header clusters only.</summary>
    private void WriteCryptoHeader(long offset, ReadOnlySpan<byte> data)
    {
        if (offset + data.Length > CryptoHeaderLength)
        {
            throw AmendError("Request for data outside of extension header", Errno.EINVAL);
        }
        _file.Write(CryptoHeaderOffset + offset, data);
    }
}
