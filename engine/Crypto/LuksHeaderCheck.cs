namespace Qcow2.Crypto;

/// <summary>
/// The sanity checks QEMU runs on a LUKS header before it parses its names (qcrypto_block_luks_check_header, with the
/// checks Debian's QEMU 7.2 carries from later releases): the payload and every key slot's key material must lie past
/// the header, each slot must have the standard stripes and a valid state, an active slot a non-zero iteration count,
/// and no slot's key material may reach into the payload or into another slot. Each failure is refused at open with
/// QEMU's message (magic, version and unterminated names are refused earlier, by <see cref="LuksHeader.Parse"/>).
/// </summary>
public static class LuksHeaderCheck
{
    /// <summary>Sectors of the header area that key material must not overlap (QCRYPTO_BLOCK_LUKS_KEY_SLOT_OFFSET / 512).</summary>
    private const uint HeaderSectors = 4096 / LuksHeader.SectorSize;

    /// <summary>Throws <see cref="ImageOpenException"/> with QEMU's message for the first rule the header breaks.</summary>
    public static void Check(LuksHeader h)
    {
        if (h.PayloadOffset < HeaderSectors)
        {
            throw new ImageOpenException("LUKS payload is overlapping with the header");
        }
        if (h.MasterKeyIterations == 0)
        {
            throw new ImageOpenException("LUKS key iteration count is zero");
        }
        for (int i = 0; i < LuksHeader.SlotCount; i++)
        {
            CheckSlot(h, i);
            var a = h.Slots[i];
            uint lengthA = KeyMaterialSectors(h, a.Stripes);
            for (int j = i + 1; j < LuksHeader.SlotCount; j++)
            {
                var b = h.Slots[j];
                uint lengthB = KeyMaterialSectors(h, b.Stripes);
                // ranges_overlap on 64-bit starts and lengths.
                bool overlap = (ulong)b.KeyOffset < (ulong)a.KeyOffset + lengthA && (ulong)a.KeyOffset < (ulong)b.KeyOffset + lengthB;
                if (overlap)
                {
                    throw new ImageOpenException($"Keyslots {i} and {j} are overlapping in the header");
                }
            }
        }
    }

    private static void CheckSlot(LuksHeader h, int i)
    {
        var slot = h.Slots[i];
        if (slot.Stripes != LuksVolume.Stripes)
        {
            // QEMU prints the stripes as a signed int.
            throw new ImageOpenException($"Keyslot {i} is corrupted (stripes {unchecked((int)slot.Stripes)} != {LuksVolume.Stripes})");
        }
        if (slot.State is not (LuksKeySlot.Enabled or LuksKeySlot.Disabled))
        {
            throw new ImageOpenException($"Keyslot {i} state (active/disable) is corrupted");
        }
        if (slot.State == LuksKeySlot.Enabled && slot.Iterations == 0)
        {
            throw new ImageOpenException($"Keyslot {i} iteration count is zero");
        }
        if (slot.KeyOffset < HeaderSectors)
        {
            throw new ImageOpenException($"Keyslot {i} is overlapping with the LUKS header");
        }
        // QEMU adds the start and length as 32-bit unsigned numbers.
        if (unchecked(slot.KeyOffset + KeyMaterialSectors(h, slot.Stripes)) > h.PayloadOffset)
        {
            throw new ImageOpenException($"Keyslot {i} is overlapping with the encrypted payload");
        }
    }

    /// <summary>qcrypto_block_luks_splitkeylen_sectors: the key material in sectors, rounded up to whole header sizes
    /// (computed in 64 bits, kept as QEMU's 32-bit result).</summary>
    private static uint KeyMaterialSectors(LuksHeader h, uint stripes)
    {
        ulong bytes = (ulong)h.KeyBytes * stripes;
        ulong sectors = (bytes + LuksHeader.SectorSize - 1) / LuksHeader.SectorSize;
        return unchecked((uint)((sectors + HeaderSectors - 1) / HeaderSectors * HeaderSectors));
    }
}
