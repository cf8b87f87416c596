using Qcow2.Crypto;
using Qcow2.Storage;

namespace Qcow2.Block;

/// <summary>
/// The luks format driver (block/crypto.c over crypto/block-luks.c): a LUKS v1 header and key material at the start of
/// the file, the encrypted payload after it. Guest offset 0 is the payload offset; each 512-byte sector is encrypted
/// with its guest sector number as IV, and requests are widened to whole sectors (the driver's request alignment).
/// Opened without I/O (qemu-img info) only the header is read and checked.
/// </summary>
public sealed class LuksDevice : BlockDevice
{
    /// <summary>The option naming the secret (block_crypto_runtime_opts_luks).</summary>
    public const string KeySecretOption = "key-secret";

    private const int Sector = LuksHeader.SectorSize;

    private readonly IStorage _storage;
    private readonly long _payload;

    private LuksDevice(IStorage storage, LuksVolume volume)
    {
        _storage = storage;
        Volume = volume;
        _payload = volume.Length;
    }

    /// <summary>The LUKS volume (header, and the payload cipher once unlocked).</summary>
    public LuksVolume Volume { get; }

    /// <inheritdoc/>
    public override string FormatName => "luks";

    /// <summary>block_crypto_co_getlength: the file's length (whole sectors) less the payload offset.</summary>
    public override long Size => RoundUp(_storage.Length) - _payload;

    /// <inheritdoc/>
    public override bool ReadOnly => _storage.ReadOnly;

    /// <inheritdoc/>
    public override long ActualSize => _storage.AllocatedSize;

    /// <summary>block_crypto_get_info_luks: the file's answer, which has no clusters.</summary>
    public override NodeInfo? Info => new NodeInfo(0, 0);

    /// <inheritdoc/>
    public override IBlkdebugControl? Blkdebug => _storage as IBlkdebugControl;

    /// <summary>block_crypto_open_generic: the key-secret option, then the volume (QEMU's messages for a missing or
    /// wrong secret and for a malformed header), then the length, which must cover the payload offset.</summary>
    internal static LuksDevice Open(IStorage storage, string fileName, OpenOptions options)
    {
        foreach (string key in Overlap.QemuOptionSyntax.InQdictOrder(options.Options.Keys))
        {
            if (key != KeySecretOption && !BlockOptions.IsNodeOption(key))
            {
                throw new ImageOpenException($"Block format 'luks' does not support the option '{key}'");
            }
        }
        string? password = null;
        if (!options.NoIo)
        {
            password = options.CreatedPassword ?? Secrets.Lookup(options.Options.GetValueOrDefault(KeySecretOption)
                ?? throw new ImageOpenException($"Parameter '{KeySecretOption}' is required for cipher"));
        }
        var volume = LuksVolume.Open((at, buffer) => storage.Read(at, buffer), password);
        if (RoundUp(storage.Length) < volume.Length)
        {
            volume.Dispose();
            throw new ImageOpenException($"Could not refresh total sector count: {ErrnoText.Of(Errno.EIO)}", Errno.EIO);
        }
        return new LuksDevice(storage, volume) { FileName = fileName };
    }

    /// <summary>
    /// block_crypto_co_create_generic: the file sized to the LUKS area plus the virtual size, then the header and the
    /// first key slot written (the other slots stay holes, as QEMU leaves them). With preallocation the whole file is
    /// written with zeros first (preallocation=falloc|full of the file; the payload then reads as the cipher's view of them).
    /// </summary>
    public static void Create(string path, LuksCreateParams p, long size, bool preallocate = false)
    {
        ArgumentNullException.ThrowIfNull(p);
        using var storage = new FileStorage(path, readOnly: false);
        long length = checked(LuksVolume.AreaLength(p.Spec) + size);
        storage.SetLength(length);
        if (preallocate)
        {
            storage.Allocate(0, length);
        }
        using var volume = LuksVolume.Create(p, (at, data) => storage.Write(at, data));
        storage.Flush();
    }

    private static long RoundUp(long n) => (n + Sector - 1) / Sector * Sector;

    /// <inheritdoc/>
    public override void Read(long offset, Span<byte> buffer)
    {
        ThrowUnlessInRange(offset, buffer.Length);
        long start = offset / Sector * Sector, end = RoundUp(offset + buffer.Length);
        var bounce = new byte[end - start];
        _storage.Read(_payload + start, bounce);
        Volume.Decrypt(start, bounce);
        bounce.AsSpan((int)(offset - start), buffer.Length).CopyTo(buffer);
    }

    /// <inheritdoc/>
    public override void Write(long offset, ReadOnlySpan<byte> data)
    {
        ThrowIfReadOnly();
        ThrowUnlessInRange(offset, data.Length);
        long start = offset / Sector * Sector, end = RoundUp(offset + data.Length);
        var bounce = new byte[end - start];
        if (start != offset || end != offset + data.Length)
        {
            // The block layer's read-modify-write of the partial sectors at either end.
            Read(start, bounce);
        }
        data.CopyTo(bounce.AsSpan((int)(offset - start)));
        Volume.Encrypt(start, bounce);
        _storage.Write(_payload + start, bounce);
    }

    /// <summary>The driver has no write-zeroes: the block layer writes (encrypted) zeros.</summary>
    public override void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        ThrowIfReadOnly();
        ThrowUnlessInRange(offset, length);
        var zeros = new byte[Math.Min(length, 1 << 20)];
        for (long done = 0; done < length; done += zeros.Length)
        {
            int n = (int)Math.Min(zeros.Length, length - done);
            Array.Clear(zeros);
            Write(offset + done, zeros.AsSpan(0, n));
        }
    }

    /// <inheritdoc/>
    public override void WriteCompressed(long offset, ReadOnlySpan<byte> data) => throw new BlockIOException(Errno.ENOTSUP);

    /// <summary>The driver has no discard: the request succeeds and changes nothing.</summary>
    public override void Discard(long offset, long length)
    {
        ThrowIfReadOnly();
        ThrowUnlessInRange(offset, length);
    }

    /// <inheritdoc/>
    public override void Flush() => _storage.Flush();

    /// <summary>The driver has no block status: every extent is allocated data, with no offset shown.</summary>
    public override BlockStatus GetStatus(long offset, long length) =>
        new(offset, Math.Min(length, Size - offset), Allocated: true, Data: true, Zero: false, Depth: 0, HostOffset: null, LayerFileName: FileName);

    /// <summary>block_crypto_amend_options_luks: a keyslot change (QEMU's options without a prefix) on the unlocked
    /// volume, reading and writing the LUKS area at the start of the file.</summary>
    public void Amend(IReadOnlyDictionary<string, string> options, bool force)
    {
        ThrowIfReadOnly();
        Volume.AmendKeyslots(LuksKeyslotChange.Parse(options), force, (at, buffer) => _storage.Read(at, buffer),
            (at, data) => _storage.Write(at, data));
        _storage.Flush();
    }

    /// <summary>block_crypto_co_truncate: the file is resized to the payload offset plus the new size.</summary>
    public override void Resize(long newSize, bool shrink) => _storage.SetLength(checked(_payload + newSize));

    /// <inheritdoc/>
    public override void Dispose()
    {
        Volume.Dispose();
        _storage.Dispose();
    }
}
