using System.Buffers.Binary;
using System.Text;

namespace Qcow2.Crypto;

/// <summary>One LUKS v1 key slot (48 bytes on disk, big-endian).</summary>
public sealed class LuksKeySlot
{
    /// <summary>The "active" word of an enabled slot.</summary>
    public const uint Enabled = 0x00AC71F3;

    /// <summary>The "active" word of a disabled slot.</summary>
    public const uint Disabled = 0x0000DEAD;

    /// <summary>Bytes of a slot on disk: active, iterations, salt, key offset, stripes.</summary>
    public const int Size = 4 + 4 + LuksHeader.SaltLength + 4 + 4;

    /// <summary>Whether the slot holds key material.</summary>
    public bool Active { get; set; }

    /// <summary>The "active" word as read from disk (<see cref="Enabled"/>, <see cref="Disabled"/> or a corrupt value).</summary>
    public uint State { get; set; } = Disabled;

    /// <summary>PBKDF2 iterations of the slot's passphrase.</summary>
    public uint Iterations { get; set; }

    /// <summary>PBKDF2 salt of the slot's passphrase.</summary>
    public byte[] Salt { get; set; } = new byte[LuksHeader.SaltLength];

    /// <summary>Where the key material starts, in 512-byte sectors from the header.</summary>
    public uint KeyOffset { get; set; }

    /// <summary>Anti-forensic stripes of the key material.</summary>
    public uint Stripes { get; set; }
}

/// <summary>
/// The LUKS v1 partition header (592 bytes, big-endian, the cryptsetup on-disk format 1.2.1 that
/// crypto/block-luks.c implements): magic, version, cipher name and mode, hash, payload offset, key size,
/// master key digest with its salt and iterations, uuid, and eight key slots.
/// </summary>
public sealed class LuksHeader
{
    /// <summary>The magic bytes "LUKS\xba\xbe".</summary>
    public static ReadOnlySpan<byte> Magic => [(byte)'L', (byte)'U', (byte)'K', (byte)'S', 0xBA, 0xBE];

    /// <summary>Field lengths from the specification.</summary>
    public const int NameLength = 32, DigestLength = 20, SaltLength = 32, UuidLength = 40, SlotCount = 8;

    private const int VersionOffset = 6, CipherNameOffset = VersionOffset + 2, CipherModeOffset = CipherNameOffset + NameLength,
        HashOffset = CipherModeOffset + NameLength, PayloadOffsetOffset = HashOffset + NameLength,
        KeyBytesOffset = PayloadOffsetOffset + 4, DigestOffset = KeyBytesOffset + 4, DigestSaltOffset = DigestOffset + DigestLength,
        DigestItersOffset = DigestSaltOffset + SaltLength, UuidOffset = DigestItersOffset + 4, SlotsOffset = UuidOffset + UuidLength;

    /// <summary>Bytes of the header on disk.</summary>
    public const int Size = SlotsOffset + SlotCount * LuksKeySlot.Size;

    /// <summary>The LUKS sector size.</summary>
    public const int SectorSize = 512;

    /// <summary>cipher_name, e.g. "aes".</summary>
    public string CipherName { get; set; } = "";

    /// <summary>cipher_mode, e.g. "xts-plain64".</summary>
    public string CipherMode { get; set; } = "";

    /// <summary>hash_spec, e.g. "sha256".</summary>
    public string HashSpec { get; set; } = "";

    /// <summary>Where the payload starts, in sectors (unused by qcow2, whose data clusters are the payload).</summary>
    public uint PayloadOffset { get; set; }

    /// <summary>Bytes of the master key.</summary>
    public uint KeyBytes { get; set; }

    /// <summary>PBKDF2 digest of the master key.</summary>
    public byte[] MasterKeyDigest { get; set; } = new byte[DigestLength];

    /// <summary>Salt of the master key digest.</summary>
    public byte[] MasterKeySalt { get; set; } = new byte[SaltLength];

    /// <summary>Iterations of the master key digest.</summary>
    public uint MasterKeyIterations { get; set; }

    /// <summary>The uuid text.</summary>
    public string Uuid { get; set; } = "";

    /// <summary>The key slots.</summary>
    public LuksKeySlot[] Slots { get; } = Enumerable.Range(0, SlotCount).Select(_ => new LuksKeySlot()).ToArray();

    /// <summary>Parses a header; throws <see cref="ImageOpenException"/> with QEMU's message when it is not LUKS v1.</summary>
    public static LuksHeader Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < Size || !b[..Magic.Length].SequenceEqual(Magic))
        {
            throw new ImageOpenException("Volume is not in LUKS format");
        }
        ushort version = BinaryPrimitives.ReadUInt16BigEndian(b[VersionOffset..]);
        if (version != 1)
        {
            throw new ImageOpenException($"LUKS version {version} is not supported", Errno.ENOTSUP);
        }
        // The three names must end inside their fields (QEMU reads them as C strings).
        CheckTerminated(b.Slice(CipherNameOffset, NameLength), "cipher name");
        CheckTerminated(b.Slice(CipherModeOffset, NameLength), "cipher mode");
        CheckTerminated(b.Slice(HashOffset, NameLength), "hash spec");
        var h = new LuksHeader
        {
            CipherName = Text(b.Slice(CipherNameOffset, NameLength)),
            CipherMode = Text(b.Slice(CipherModeOffset, NameLength)),
            HashSpec = Text(b.Slice(HashOffset, NameLength)),
            PayloadOffset = BinaryPrimitives.ReadUInt32BigEndian(b[PayloadOffsetOffset..]),
            KeyBytes = BinaryPrimitives.ReadUInt32BigEndian(b[KeyBytesOffset..]),
            MasterKeyDigest = b.Slice(DigestOffset, DigestLength).ToArray(),
            MasterKeySalt = b.Slice(DigestSaltOffset, SaltLength).ToArray(),
            MasterKeyIterations = BinaryPrimitives.ReadUInt32BigEndian(b[DigestItersOffset..]),
            Uuid = Text(b.Slice(UuidOffset, UuidLength)),
        };
        for (int i = 0; i < SlotCount; i++)
        {
            var s = b.Slice(SlotsOffset + i * LuksKeySlot.Size, LuksKeySlot.Size);
            var slot = h.Slots[i];
            slot.State = BinaryPrimitives.ReadUInt32BigEndian(s);
            slot.Active = slot.State == LuksKeySlot.Enabled;
            slot.Iterations = BinaryPrimitives.ReadUInt32BigEndian(s[4..]);
            slot.Salt = s.Slice(8, SaltLength).ToArray();
            slot.KeyOffset = BinaryPrimitives.ReadUInt32BigEndian(s[(8 + SaltLength)..]);
            slot.Stripes = BinaryPrimitives.ReadUInt32BigEndian(s[(12 + SaltLength)..]);
        }
        return h;
    }

    /// <summary>The header's bytes.</summary>
    public byte[] ToBytes()
    {
        var b = new byte[Size];
        Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(VersionOffset), 1);
        Encoding.ASCII.GetBytes(CipherName).CopyTo(b, CipherNameOffset);
        Encoding.ASCII.GetBytes(CipherMode).CopyTo(b, CipherModeOffset);
        Encoding.ASCII.GetBytes(HashSpec).CopyTo(b, HashOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(PayloadOffsetOffset), PayloadOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(KeyBytesOffset), KeyBytes);
        MasterKeyDigest.CopyTo(b, DigestOffset);
        MasterKeySalt.CopyTo(b, DigestSaltOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(DigestItersOffset), MasterKeyIterations);
        Encoding.ASCII.GetBytes(Uuid).CopyTo(b, UuidOffset);
        for (int i = 0; i < SlotCount; i++)
        {
            var s = b.AsSpan(SlotsOffset + i * LuksKeySlot.Size, LuksKeySlot.Size);
            var slot = Slots[i];
            BinaryPrimitives.WriteUInt32BigEndian(s, slot.Active ? LuksKeySlot.Enabled : LuksKeySlot.Disabled);
            BinaryPrimitives.WriteUInt32BigEndian(s[4..], slot.Iterations);
            slot.Salt.CopyTo(s[8..]);
            BinaryPrimitives.WriteUInt32BigEndian(s[(8 + SaltLength)..], slot.KeyOffset);
            BinaryPrimitives.WriteUInt32BigEndian(s[(12 + SaltLength)..], slot.Stripes);
        }
        return b;
    }

    private static void CheckTerminated(ReadOnlySpan<byte> field, string what)
    {
        if (field.IndexOf((byte)0) < 0)
        {
            throw new ImageOpenException($"LUKS header {what} is not NUL terminated");
        }
    }

    private static string Text(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? field : field[..end]);
    }
}
