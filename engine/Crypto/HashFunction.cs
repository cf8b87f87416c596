using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Qcow2.Crypto;

/// <summary>
/// An incremental hash for the LUKS hash specs (PBKDF2, the AF splitter, ESSIV). The .NET hashes (md5, sha1, sha2)
/// run on IncrementalHash; sha224 and ripemd160, which .NET lacks, are this engine's own Merkle-Damgård hashes.
/// </summary>
public abstract class HashFunction : IDisposable
{
    /// <summary>The .NET-style names of the hashes this engine adds.</summary>
    public static readonly HashAlgorithmName Sha224 = new("SHA224"), Ripemd160 = new("RIPEMD160");

    /// <summary>The digest length in bytes.</summary>
    public abstract int DigestBytes { get; }

    /// <summary>The input block length in bytes (HMAC pads its key to it).</summary>
    public abstract int BlockBytes { get; }

    /// <summary>Adds data to the message.</summary>
    public abstract void Append(ReadOnlySpan<byte> data);

    /// <summary>Writes the digest of the message so far and starts a new message.</summary>
    public abstract void GetHashAndReset(Span<byte> digest);

    /// <summary>The hash named hash.</summary>
    public static HashFunction Create(HashAlgorithmName hash) =>
        hash == Sha224 ? new Sha224Hash() : hash == Ripemd160 ? new Ripemd160Hash() : new NetHash(hash);

    /// <summary>The digest of data.</summary>
    public static byte[] HashData(HashAlgorithmName hash, ReadOnlySpan<byte> data)
    {
        using var h = Create(hash);
        h.Append(data);
        var digest = new byte[h.DigestBytes];
        h.GetHashAndReset(digest);
        return digest;
    }

    /// <summary>PBKDF2 (RFC 8018) with HMAC over hash: .NET's for the SHA family, HMAC over <see cref="Create"/> otherwise.</summary>
    public static byte[] Pbkdf2(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, int iterations, HashAlgorithmName hash, int length)
    {
        if (hash == HashAlgorithmName.SHA1 || hash == HashAlgorithmName.SHA256 || hash == HashAlgorithmName.SHA384 || hash == HashAlgorithmName.SHA512)
        {
            return Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, hash, length);
        }
        using var mac = new Hmac(hash, password);
        var output = new byte[length];
        Span<byte> u = stackalloc byte[mac.DigestBytes], t = stackalloc byte[mac.DigestBytes], index = stackalloc byte[4];
        for (int block = 1, at = 0; at < length; block++, at += u.Length)
        {
            BinaryPrimitives.WriteInt32BigEndian(index, block);
            mac.Append(salt);
            mac.Append(index);
            mac.GetHashAndReset(u);
            u.CopyTo(t);
            for (int i = 1; i < iterations; i++)
            {
                mac.Append(u);
                mac.GetHashAndReset(u);
                BlockCipher.Xor(t, u);
            }
            t[..Math.Min(t.Length, length - at)].CopyTo(output.AsSpan(at));
        }
        return output;
    }

    /// <inheritdoc/>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>HMAC (RFC 2104) over any <see cref="HashFunction"/>.</summary>
    private sealed class Hmac : IDisposable
    {
        private readonly HashFunction _inner, _outer;
        private readonly byte[] _ipad, _opad;

        public Hmac(HashAlgorithmName hash, ReadOnlySpan<byte> key)
        {
            _inner = Create(hash);
            _outer = Create(hash);
            byte[] k = key.Length > _inner.BlockBytes ? HashData(hash, key) : key.ToArray();
            _ipad = new byte[_inner.BlockBytes];
            _opad = new byte[_inner.BlockBytes];
            for (int i = 0; i < _ipad.Length; i++)
            {
                byte b = i < k.Length ? k[i] : (byte)0;
                _ipad[i] = (byte)(b ^ 0x36);
                _opad[i] = (byte)(b ^ 0x5c);
            }
            _inner.Append(_ipad);
        }

        public int DigestBytes => _inner.DigestBytes;

        public void Append(ReadOnlySpan<byte> data) => _inner.Append(data);

        public void GetHashAndReset(Span<byte> mac)
        {
            Span<byte> inner = stackalloc byte[_inner.DigestBytes];
            _inner.GetHashAndReset(inner);
            _inner.Append(_ipad);
            _outer.Append(_opad);
            _outer.Append(inner);
            _outer.GetHashAndReset(mac);
        }

        public void Dispose()
        {
            _inner.Dispose();
            _outer.Dispose();
        }
    }

    /// <summary>A hash .NET provides.</summary>
    private sealed class NetHash(HashAlgorithmName name) : HashFunction
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(name);

        public override int DigestBytes => _hash.HashLengthInBytes;

        public override int BlockBytes => name == HashAlgorithmName.SHA384 || name == HashAlgorithmName.SHA512 ? 128 : 64;

        public override void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

        public override void GetHashAndReset(Span<byte> digest) => _hash.GetHashAndReset(digest);

        public override void Dispose()
        {
            _hash.Dispose();
            base.Dispose();
        }
    }
}

/// <summary>
/// The Merkle-Damgård frame shared by SHA-224 and RIPEMD-160: 64-byte blocks, a 0x80 byte, zeros, and the message
/// length in bits as a 64-bit number (big-endian for SHA, little-endian for RIPEMD).
/// </summary>
public abstract class BlockHash : HashFunction
{
    private readonly byte[] _buffer = new byte[64];
    private readonly uint[] _initial;
    private readonly bool _bigEndian;
    private int _used;
    private ulong _length;

    /// <summary>A hash whose chaining state starts at initial, whose digest is its first digestBytes bytes, and whose
    /// length and state words are big-endian or little-endian.</summary>
    protected BlockHash(uint[] initial, int digestBytes, bool bigEndian)
    {
        _initial = initial;
        _bigEndian = bigEndian;
        DigestBytes = digestBytes;
        State = (uint[])initial.Clone();
    }

    /// <summary>The chaining state the compression function updates.</summary>
    protected uint[] State { get; }

    /// <inheritdoc/>
    public override int DigestBytes { get; }

    /// <inheritdoc/>
    public override int BlockBytes => 64;

    /// <summary>Runs the compression function over one 64-byte block.</summary>
    protected abstract void Compress(ReadOnlySpan<byte> block);

    /// <inheritdoc/>
    public override void Append(ReadOnlySpan<byte> data)
    {
        _length += (ulong)data.Length;
        while (data.Length > 0)
        {
            int take = Math.Min(64 - _used, data.Length);
            data[..take].CopyTo(_buffer.AsSpan(_used));
            _used += take;
            data = data[take..];
            if (_used == 64)
            {
                Compress(_buffer);
                _used = 0;
            }
        }
    }

    /// <inheritdoc/>
    public override void GetHashAndReset(Span<byte> digest)
    {
        ulong bits = _length * 8;
        Span<byte> tail = stackalloc byte[128];
        tail.Clear();
        _buffer.AsSpan(0, _used).CopyTo(tail);
        tail[_used] = 0x80;
        int total = _used + 9 <= 64 ? 64 : 128;
        if (_bigEndian)
        {
            BinaryPrimitives.WriteUInt64BigEndian(tail[(total - 8)..], bits);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(tail[(total - 8)..], bits);
        }
        for (int at = 0; at < total; at += 64)
        {
            Compress(tail.Slice(at, 64));
        }
        for (int i = 0; i < DigestBytes / 4; i++)
        {
            if (_bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(digest[(4 * i)..], State[i]);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(digest[(4 * i)..], State[i]);
            }
        }
        _initial.CopyTo(State, 0);
        _used = 0;
        _length = 0;
    }
}
