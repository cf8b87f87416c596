using Qcow2.Crypto;

using Qcow2.Block;

namespace Qcow2.Cli;

/// <summary>
/// The "encrypt" member of qcow2's format-specific information (ImageInfoSpecificQCow2Encryption, from
/// qcrypto_block_get_info): the format, and for LUKS the cipher, IV generator, hash, payload offset, master key
/// iterations, uuid and the key slots (iterations and stripes only for active slots).
/// </summary>
public static class EncryptionInfo
{
    /// <summary>The member for an image's crypt method; null for an unencrypted image.</summary>
    public static QDict? For(Qcow2Image q)
    {
        if (!q.Encrypted)
        {
            return null;
        }
        if (q.Luks is not { } luks)
        {
            return new QDict().Add("format", "aes");
        }
        return Luks(new QDict().Add("format", "luks"), luks);
    }

    /// <summary>The LUKS members (QCryptoBlockInfoLUKS) added to d: for qcow2 after its "format", for the luks driver
    /// they are the whole of its format-specific data.</summary>
    public static QDict Luks(QDict d, LuksVolume luks)
    {
        var spec = luks.Spec;
        var h = luks.Header;
        d.Add("cipher-alg", spec.CipherAlg)
            .Add("cipher-mode", spec.Mode)
            .Add("ivgen-alg", spec.IvGen)
            .AddIf("ivgen-hash-alg", spec.IvHash)
            .Add("hash-alg", spec.Hash)
            .Add("payload-offset", (long)h.PayloadOffset * LuksHeader.SectorSize)
            .Add("master-key-iters", (long)h.MasterKeyIterations)
            .Add("uuid", h.Uuid);
        d.Add("slots", h.Slots.Select(Slot).Cast<object>().ToList());
        return d;
    }

    /// <summary>The luks driver's format-specific data (ImageInfoSpecific of type luks).</summary>
    public static QDict Specific(LuksDevice luks) => Luks(new QDict(), luks.Volume);

    private static QDict Slot(LuksKeySlot s)
    {
        var d = new QDict().Add("active", s.Active);
        if (s.Active)
        {
            d.Add("iters", (long)s.Iterations).Add("stripes", (long)s.Stripes);
        }
        return d.Add("key-offset", (long)s.KeyOffset * LuksHeader.SectorSize);
    }
}
