using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Qcow2.Crypto;

/// <summary>Reads bytes at an offset of the LUKS area (the qcow2 crypto header clusters).</summary>
public delegate void LuksRead(long offset, Span<byte> buffer);

/// <summary>Writes bytes at an offset of the LUKS area.</summary>
public delegate void LuksWrite(long offset, ReadOnlySpan<byte> data);

/// <summary>The parameters of a new LUKS volume (QCryptoBlockCreateOptionsLUKS), with QEMU's defaults.</summary>
public sealed record LuksCreateParams(string Password, LuksCipherSpec Spec, long IterTimeMs = 2000);

/// <summary>
/// A LUKS v1 volume (crypto/block-luks.c): the header, and once unlocked the master key and the payload cipher.
/// Opened without a passphrase (qemu-img info, BDRV_O_NO_IO) only the header is known.
/// </summary>
public sealed partial class LuksVolume : IDisposable
{
    /// <summary>Stripes of the anti-forensic split (QCRYPTO_BLOCK_LUKS_STRIPES).</summary>
    public const int Stripes = 4000;

    /// <summary>Key material is aligned to this many bytes (QCRYPTO_BLOCK_LUKS_KEY_SLOT_OFFSET alignment).</summary>
    private const int KeyAlignment = 4096;

    /// <summary>Fewest PBKDF2 iterations of a slot key and of the master key digest QEMU writes.</summary>
    private const long MinSlotIterations = 1000, MinMasterIterations = 1000;

    private SectorCipher? _cipher;

    /// <summary>The master key once unlocked (keyslot amendment stores it under a new passphrase).</summary>
    private byte[]? _masterKey;

    private LuksVolume(LuksHeader header, LuksCipherSpec spec)
    {
        Header = header;
        Spec = spec;
    }

    /// <summary>The header.</summary>
    public LuksHeader Header { get; }

    /// <summary>The cipher specification.</summary>
    public LuksCipherSpec Spec { get; }

    /// <summary>The master key once unlocked, else null.</summary>
    internal byte[]? MasterKey => _masterKey;

    /// <summary>Whether the payload can be encrypted and decrypted (a passphrase unlocked a key slot).</summary>
    public bool Unlocked => _cipher is not null;

    /// <summary>Bytes of the whole LUKS area: header and every slot's key material (the payload offset).</summary>
    public long Length => (long)Header.PayloadOffset * LuksHeader.SectorSize;

    /// <summary>Opens a volume; with a password the key slots are tried until one unlocks (else QEMU's error).</summary>
    public static LuksVolume Open(LuksRead read, string? password)
    {
        var volume = OpenHeader(read);
        if (password is not null)
        {
            byte[] key = volume.FindMasterKey(read, password)
                ?? throw new ImageOpenException("Invalid password, cannot unlock any keyslot", Errno.EPERM);
            volume.Unlock(key);
        }
        return volume;
    }

    /// <summary>
    /// Opens a volume with its master key already known (the image just created): the key is checked against the
    /// header's digest instead of being unlocked from a slot, which would cost the slot's PBKDF2 time again.
    /// </summary>
    internal static LuksVolume OpenWithMasterKey(LuksRead read, byte[] masterKey)
    {
        var volume = OpenHeader(read);
        if (!volume.IsMasterKey(masterKey))
        {
            throw new ImageOpenException("Invalid password, cannot unlock any keyslot", Errno.EPERM);
        }
        volume.Unlock(masterKey);
        return volume;
    }

    private static LuksVolume OpenHeader(LuksRead read)
    {
        var raw = new byte[LuksHeader.Size];
        read(0, raw);
        var header = LuksHeader.Parse(raw);
        LuksHeaderCheck.Check(header);
        return new LuksVolume(header, LuksCipherSpec.FromHeader(header));
    }

    private void Unlock(byte[] key)
    {
        _masterKey = key;
        _cipher = new SectorCipher(Spec, key);
    }

    /// <summary>qcrypto_block_luks_find_key: the master key from the first active slot the password opens, or null.</summary>
    private byte[]? FindMasterKey(LuksRead read, string password)
    {
        for (int i = 0; i < LuksHeader.SlotCount; i++)
        {
            if (TryLoadKey(read, i, password) is byte[] key)
            {
                return key;
            }
        }
        return null;
    }

    /// <summary>qcrypto_block_luks_load_key: the master key when slot i is active and the password opens it, else null.</summary>
    private byte[]? TryLoadKey(LuksRead read, int index, string password)
    {
        var hash = LuksCipherSpec.HashName(Spec.Hash);
        int keyBytes = (int)Header.KeyBytes;
        var slot = Header.Slots[index];
        if (!slot.Active || slot.Stripes == 0 || slot.Stripes > Stripes * 16 || slot.Iterations == 0)
        {
            return null;
        }
        byte[] slotKey = HashFunction.Pbkdf2(Encoding.UTF8.GetBytes(password), slot.Salt, (int)slot.Iterations, hash, keyBytes);
        var split = new byte[checked(keyBytes * (int)slot.Stripes)];
        read((long)slot.KeyOffset * LuksHeader.SectorSize, split);
        using (var c = new SectorCipher(Spec, slotKey))
        {
            c.Decrypt(0, split);
        }
        byte[] candidate = AfSplit.Merge(hash, split, keyBytes, (int)slot.Stripes);
        return IsMasterKey(candidate) ? candidate : null;
    }

    /// <summary>Whether a key's PBKDF2 digest is the header's master key digest.</summary>
    private bool IsMasterKey(byte[] candidate)
    {
        var hash = LuksCipherSpec.HashName(Spec.Hash);
        byte[] digest = HashFunction.Pbkdf2(candidate, Header.MasterKeySalt, (int)Header.MasterKeyIterations, hash, LuksHeader.DigestLength);
        return CryptographicOperations.FixedTimeEquals(digest, Header.MasterKeyDigest);
    }

    /// <summary>The LUKS area a new volume of this spec needs, before it is created (header plus eight slots).</summary>
    public static long AreaLength(LuksCipherSpec spec) => SlotsStart + LuksHeader.SlotCount * SlotSpan(spec);

    private static long SlotsStart => Align(LuksHeader.Size);

    private static long SlotSpan(LuksCipherSpec spec) => Align((long)spec.MasterKeyBytes * Stripes);

    private static long Align(long n) => (n + KeyAlignment - 1) / KeyAlignment * KeyAlignment;

    /// <summary>
    /// qcrypto_block_luks_create: a random master key, its digest, slot 0 holding it under the password, and the
    /// header and key material written through write. Iterations are scaled from a PBKDF2 benchmark to iter-time.
    /// </summary>
    public static LuksVolume Create(LuksCreateParams p, LuksWrite write)
    {
        var spec = p.Spec;
        var hash = LuksCipherSpec.HashName(spec.Hash);
        var header = new LuksHeader
        {
            CipherName = spec.Cipher,
            CipherMode = spec.ModeString,
            HashSpec = spec.Hash,
            KeyBytes = (uint)spec.MasterKeyBytes,
            Uuid = Guid.NewGuid().ToString(),
            MasterKeySalt = RandomNumberGenerator.GetBytes(LuksHeader.SaltLength),
        };
        byte[] master = RandomNumberGenerator.GetBytes(spec.MasterKeyBytes);
        long perSecond = IterationsPerSecond(hash, spec.MasterKeyBytes);
        long scaled = checked(perSecond * p.IterTimeMs / 1000);
        header.MasterKeyIterations = (uint)Math.Clamp(scaled / 8, MinMasterIterations, uint.MaxValue);
        header.MasterKeyDigest = HashFunction.Pbkdf2(master, header.MasterKeySalt, (int)header.MasterKeyIterations, hash, LuksHeader.DigestLength);
        for (int i = 0; i < LuksHeader.SlotCount; i++)
        {
            header.Slots[i].KeyOffset = (uint)((SlotsStart + i * SlotSpan(spec)) / LuksHeader.SectorSize);
            header.Slots[i].Stripes = Stripes;
        }
        header.PayloadOffset = (uint)(AreaLength(spec) / LuksHeader.SectorSize);
        var volume = new LuksVolume(header, spec);
        volume.WriteSlot(0, p.Password, master, (uint)Math.Clamp(scaled, MinSlotIterations, int.MaxValue), write);
        write(0, header.ToBytes());
        volume.Unlock(master);
        return volume;
    }

    /// <summary>Fills a slot with the master key under a password (qcrypto_block_luks_store_key).</summary>
    private void WriteSlot(int index, string password, byte[] master, uint iterations, LuksWrite write)
    {
        var hash = LuksCipherSpec.HashName(Spec.Hash);
        var slot = Header.Slots[index];
        slot.Salt = RandomNumberGenerator.GetBytes(LuksHeader.SaltLength);
        slot.Iterations = iterations;
        byte[] slotKey = HashFunction.Pbkdf2(Encoding.UTF8.GetBytes(password), slot.Salt, (int)iterations, hash, master.Length);
        byte[] split = AfSplit.Split(hash, master, (int)slot.Stripes);
        using (var c = new SectorCipher(Spec, slotKey))
        {
            c.Encrypt(0, split);
        }
        write((long)slot.KeyOffset * LuksHeader.SectorSize, split);
        slot.Active = true;
    }

    /// <summary>
    /// The PBKDF2 rates measured so far, by hash and key length: a process that makes several volumes (the test suite,
    /// which runs the tools in-process, or a library user) measures each once; a tool run makes one volume anyway.
    /// </summary>
    private static readonly ConcurrentDictionary<(HashAlgorithmName Hash, int KeyBytes), long> Rates = new();

    /// <summary>qcrypto_pbkdf2_count_iters, shortened: PBKDF2 iterations per second on this machine.</summary>
    private static long IterationsPerSecond(HashAlgorithmName hash, int keyBytes) =>
        Rates.GetOrAdd((hash, keyBytes), k => MeasureIterationsPerSecond(k.Hash, k.KeyBytes));

    private static long MeasureIterationsPerSecond(HashAlgorithmName hash, int keyBytes)
    {
        byte[] salt = new byte[LuksHeader.SaltLength], password = new byte[keyBytes];
        long iterations = 1 << 12;
        while (true)
        {
            var sw = Stopwatch.StartNew();
            HashFunction.Pbkdf2(password, salt, (int)iterations, hash, LuksHeader.DigestLength);
            long ms = sw.ElapsedMilliseconds;
            if (ms >= 50 || iterations >= 1 << 28)
            {
                return iterations * 1000 / Math.Max(ms, 1);
            }
            iterations *= 2;
        }
    }

    /// <summary>Encrypts payload bytes in place; offset (a multiple of 512) numbers the first sector's IV.</summary>
    public void Encrypt(long offset, Span<byte> data) => Cipher.Encrypt(offset / LuksHeader.SectorSize, data);

    /// <summary>Decrypts payload bytes in place.</summary>
    public void Decrypt(long offset, Span<byte> data) => Cipher.Decrypt(offset / LuksHeader.SectorSize, data);

    private SectorCipher Cipher => _cipher ?? throw new InvalidOperationException("LUKS volume is not unlocked");

    /// <inheritdoc/>
    public void Dispose() => _cipher?.Dispose();
}

/// <summary>How a new qcow2 image is encrypted: "luks" with a cipher spec and PBKDF time, or legacy "aes".</summary>
public sealed record EncryptionCreate(string Format, string Password, LuksCipherSpec Spec, long IterTimeMs);
