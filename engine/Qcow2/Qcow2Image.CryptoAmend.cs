using Qcow2.Crypto;
using Qcow2.Options;

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
        bool active = o.TryGetValue("state", out string? state)
            ? state switch
            {
                "active" => true,
                "inactive" => false,
                _ => throw AmendError($"Parameter 'state' does not accept value '{state}'", Errno.EINVAL),
            }
            : throw AmendError("Parameter 'state' is missing", Errno.EINVAL);
        return new LuksKeyslotChange(active, o.GetValueOrDefault("new-secret"), o.GetValueOrDefault("old-secret"),
            Integer(o, "keyslot"), Integer(o, "iter-time"));
    }

    private long? Integer(IReadOnlyDictionary<string, string> o, string name)
    {
        if (!o.TryGetValue(name, out string? text))
        {
            return null;
        }
        return QemuNumbers.StrToI64(text, out long value) ? value : throw AmendError($"Parameter '{name}' expects integer", Errno.EINVAL);
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
