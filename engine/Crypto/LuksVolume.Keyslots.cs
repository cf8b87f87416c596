using System.Security.Cryptography;

namespace Qcow2.Crypto;

/// <summary>
/// A keyslot change (QCryptoBlockAmendOptionsLUKS): make keyslots active with a new passphrase, or erase them, chosen
/// by number or by the passphrase they hold. Secrets are ids of --object secrets, looked up when QEMU looks them up.
/// </summary>
/// <param name="Active">state=active (add a passphrase) or inactive (erase).</param>
/// <param name="NewSecret">new-secret: the passphrase to store.</param>
/// <param name="OldSecret">old-secret: erase the slots holding this passphrase.</param>
/// <param name="Keyslot">keyslot: the one slot to change.</param>
/// <param name="IterTimeMs">iter-time: PBKDF2 time of the new slot (2000 ms when not given).</param>
public sealed record LuksKeyslotChange(bool Active, string? NewSecret, string? OldSecret, long? Keyslot, long? IterTimeMs)
{
    /// <summary>
    /// The QAPI visitor's reading of the amend options into QCryptoBlockAmendOptionsLUKS (names without any prefix:
    /// state, new-secret, old-secret, keyslot, iter-time), with its messages as <see cref="ImageChangeException"/>.
    /// </summary>
    public static LuksKeyslotChange Parse(IReadOnlyDictionary<string, string> o)
    {
        ArgumentNullException.ThrowIfNull(o);
        bool active = o.TryGetValue("state", out string? state)
            ? state switch
            {
                "active" => true,
                "inactive" => false,
                _ => throw new ImageChangeException($"Parameter 'state' does not accept value '{state}'", Errno.EINVAL),
            }
            : throw new ImageChangeException("Parameter 'state' is missing", Errno.EINVAL);
        return new LuksKeyslotChange(active, o.GetValueOrDefault("new-secret"), o.GetValueOrDefault("old-secret"),
            Integer(o, "keyslot"), Integer(o, "iter-time"));
    }

    private static long? Integer(IReadOnlyDictionary<string, string> o, string name)
    {
        if (!o.TryGetValue(name, out string? text))
        {
            return null;
        }
        return Options.QemuNumbers.StrToI64(text, out long value)
            ? value
            : throw new ImageChangeException($"Parameter '{name}' expects integer", Errno.EINVAL);
    }
}

/// <summary>Keyslot amendment (crypto/block-luks.c, qcrypto_block_luks_amend_options and what it calls).</summary>
public sealed partial class LuksVolume
{
    /// <summary>Default PBKDF2 time of a new slot (QCRYPTO_BLOCK_LUKS_DEFAULT_ITER_TIME_MS).</summary>
    private const long DefaultIterTimeMs = 2000;

    /// <summary>How often an erased slot's key material is overwritten with random bytes (QCRYPTO_BLOCK_LUKS_ERASE_ITERATIONS).</summary>
    private const int EraseIterations = 40;

    /// <summary>
    /// Applies a keyslot change to an unlocked volume; force allows overwriting an active slot and erasing the last
    /// one. Throws <see cref="ImageChangeException"/> with QEMU's message (and its hint) when the change is refused.
    /// </summary>
    public void AmendKeyslots(LuksKeyslotChange change, bool force, LuksRead read, LuksWrite write)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (change.Active)
        {
            AddKeyslot(change, force, write);
        }
        else
        {
            EraseKeyslots(change, force, read, write);
        }
    }

    /// <summary>qcrypto_block_luks_amend_add_keyslot.</summary>
    private void AddKeyslot(LuksKeyslotChange change, bool force, LuksWrite write)
    {
        if (change.NewSecret is null)
        {
            throw Refused("'new-secret' is required to activate a keyslot");
        }
        if (change.OldSecret is not null)
        {
            throw Refused("'old-secret' must not be given when activating keyslots");
        }
        int keyslot;
        if (change.Keyslot is long given)
        {
            // QEMU keeps the number in an int and prints it unsigned here ("Invalid keyslot 4294967295").
            keyslot = unchecked((int)given);
            if (keyslot < 0 || keyslot >= LuksHeader.SlotCount)
            {
                throw Refused($"Invalid keyslot {unchecked((uint)keyslot)} specified, must be between 0 and {LuksHeader.SlotCount - 1}");
            }
        }
        else
        {
            keyslot = Array.FindIndex(Header.Slots, s => !s.Active);
            if (keyslot < 0)
            {
                throw Refused("Can't add a keyslot - all keyslots are in use");
            }
        }
        if (!force && Header.Slots[keyslot].Active)
        {
            throw Refused($"Refusing to overwrite active keyslot {keyslot} - please erase it first");
        }
        // QEMU unlocks the master key again with the image's own secret; the open already did that.
        byte[] master = _masterKey ?? throw new InvalidOperationException("LUKS volume is not unlocked");
        string password = LookupSecret(change.NewSecret);
        _ = KeyMaterialLength(keyslot);
        uint iterations = SlotIterations(unchecked((ulong)(change.IterTimeMs ?? DefaultIterTimeMs)), keyslot);
        WriteSlot(keyslot, password, master, iterations, write);
        write(0, Header.ToBytes());
    }

    /// <summary>
    /// qcrypto_block_luks_store_key's iteration count: the PBKDF2 rate scaled to iter-time, at least the minimum;
    /// QEMU's range errors with the hint naming the slot.
    /// </summary>
    private uint SlotIterations(ulong iterTimeMs, int keyslot)
    {
        ulong perSecond = (ulong)IterationsPerSecond(LuksCipherSpec.HashName(Spec.Hash), (int)Header.KeyBytes);
        string hint = $"Failed to write to keyslot {keyslot}";
        if (iterTimeMs != 0 && perSecond > ulong.MaxValue / iterTimeMs)
        {
            throw new ImageChangeException($"PBKDF iterations {perSecond} too large to scale: {ErrnoText.Of(Errno.ERANGE)}", Errno.ERANGE, hint);
        }
        ulong iterations = perSecond * iterTimeMs / 1000;
        if (iterations > uint.MaxValue)
        {
            throw new ImageChangeException($"PBKDF iterations {iterations} larger than {uint.MaxValue}: {ErrnoText.Of(Errno.ERANGE)}", Errno.ERANGE, hint);
        }
        // .NET's PBKDF2 takes an int count; counts above it would take days per unlock anyway.
        return (uint)Math.Clamp((long)iterations, MinSlotIterations, int.MaxValue);
    }

    /// <summary>qcrypto_block_luks_amend_erase_keyslots: by number (optionally checked against old-secret) or by passphrase.</summary>
    private void EraseKeyslots(LuksKeyslotChange change, bool force, LuksRead read, LuksWrite write)
    {
        if (change.NewSecret is not null)
        {
            throw Refused("'new-secret' must not be given when erasing keyslots");
        }
        if (change.IterTimeMs is not null)
        {
            throw Refused("'iter-time' must not be given when erasing keyslots");
        }
        string? oldPassword = change.OldSecret is null ? null : LookupSecret(change.OldSecret);
        if (change.Keyslot is long given)
        {
            EraseKeyslot(unchecked((int)given), oldPassword, force, read, write);
        }
        else if (oldPassword is not null)
        {
            var matching = Enumerable.Range(0, LuksHeader.SlotCount).Where(i => TryLoadKey(read, i, oldPassword) is not null).ToList();
            if (matching.Count == 0)
            {
                throw Refused("No keyslots match given (old) password for erase operation");
            }
            if (!force && matching.Count == Header.Slots.Count(s => s.Active))
            {
                throw Refused("All the active keyslots match the (old) password that was given and erasing them will erase all "
                    + "the data in the image irreversibly - refusing operation");
            }
            foreach (int i in matching)
            {
                EraseKey(i, write);
            }
        }
        else
        {
            throw Refused("To erase keyslot(s), either explicit keyslot index or the password currently contained in them must be given");
        }
    }

    private void EraseKeyslot(int keyslot, string? oldPassword, bool force, LuksRead read, LuksWrite write)
    {
        if (keyslot < 0 || keyslot >= LuksHeader.SlotCount)
        {
            throw Refused($"Invalid keyslot {keyslot} specified, must be between 0 and {LuksHeader.SlotCount - 1}");
        }
        if (oldPassword is not null && TryLoadKey(read, keyslot, oldPassword) is null)
        {
            throw Refused($"Given keyslot {keyslot} doesn't contain the given old password for erase operation");
        }
        if (!force && !Header.Slots[keyslot].Active)
        {
            // QEMU's message ends in a space.
            throw Refused($"Given keyslot {keyslot} is already erased (inactive) ");
        }
        if (!force && Header.Slots.Count(s => s.Active) == 1)
        {
            throw Refused($"Attempt to erase the only active keyslot {keyslot} which will erase all the data in the image "
                + "irreversibly - refusing operation");
        }
        EraseKey(keyslot, write);
    }

    /// <summary>qcrypto_block_luks_erase_key: the slot marked disabled in the header, then its key material overwritten with random bytes.</summary>
    private void EraseKey(int index, LuksWrite write)
    {
        var slot = Header.Slots[index];
        int length = KeyMaterialLength(index);
        slot.Salt = new byte[LuksHeader.SaltLength];
        slot.Iterations = 0;
        slot.Active = false;
        write(0, Header.ToBytes());
        var garbage = new byte[length];
        for (int i = 0; i < EraseIterations; i++)
        {
            RandomNumberGenerator.Fill(garbage);
            write((long)slot.KeyOffset * LuksHeader.SectorSize, garbage);
        }
    }

    /// <summary>
    /// Bytes of a slot's key material, checked to lie inside the LUKS area as qcrypto_block_luks_check_header checks
    /// it (QEMU at open, here before a slot of a hostile header is written).
    /// </summary>
    private int KeyMaterialLength(int index)
    {
        var slot = Header.Slots[index];
        if (slot.Stripes == 0)
        {
            throw Refused($"Keyslot {index} is corrupted (stripes == 0)");
        }
        long length = (long)Header.KeyBytes * slot.Stripes;
        if ((long)slot.KeyOffset * LuksHeader.SectorSize + length > Length || length > Array.MaxLength)
        {
            throw Refused($"Keyslot {index} is overlapping with the encrypted payload");
        }
        return (int)length;
    }

    /// <summary>qcrypto_secret_lookup_as_utf8 during an amend: QEMU's message when the id is unknown.</summary>
    private static string LookupSecret(string id)
    {
        try
        {
            return Secrets.Lookup(id);
        }
        catch (ImageOpenException e)
        {
            throw Refused(e.Message);
        }
    }

    private static ImageChangeException Refused(string message) => new(message, Errno.EINVAL);
}
