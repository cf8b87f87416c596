using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Qcow2.Corpus;

/// <summary>
/// Reads a guest disk as a stream (an adapter's stdout, or QEMU's raw output) and keeps what the verdict needs: its
/// length, the SHA-256 of the whole and of each extent, where the first QCOW header magic ("QFI\xfb") starts a
/// sector, and the first few non-zero sectors found where the extents say the disk reads as zeros.
/// </summary>
public sealed class ContentScan
{
    /// <summary>What <see cref="ExtentSha256"/> holds for a zero extent that read as zeros, when zeros are not hashed.</summary>
    public const string AllZeros = "zeros";

    /// <summary>What <see cref="ExtentSha256"/> holds for a zero extent with a non-zero byte, when zeros are not hashed.</summary>
    public const string NotZeros = "not zeros";

    private static readonly byte[] Magic = [0x51, 0x46, 0x49, 0xfb];

    /// <summary>Zeros to hash from (<see cref="AppendZeros"/>).</summary>
    private static readonly byte[] ZeroChunk = new byte[1 << 20];

    /// <summary>The SHA-256 of n zero bytes, by n: most of a corpus's guest bytes are zero extents of a few lengths.</summary>
    private static readonly ConcurrentDictionary<long, string> ZerosSha256 = new();
    private readonly IncrementalHash? _whole;
    private readonly IReadOnlyList<(long Start, long Length, bool Data, bool Zero)> _extents;
    private readonly List<string> _extentSha = [];
    private readonly bool _hashZeros;
    private IncrementalHash? _current;
    private bool _currentNonZero;

    /// <summary>Bytes of the current zero extent, all zeros so far, that are not in <see cref="_current"/> yet.</summary>
    private long _pendingZeros;
    private int _index;

    /// <summary>
    /// Creates a scan over the given extents (empty when the expectation has none). With hashZeros false (a check of a
    /// reader against a sidecar, whose zero extents hold zeros by construction) the whole disk and the zero extents
    /// are not hashed: a zero extent's entry is <see cref="AllZeros"/> or <see cref="NotZeros"/>.
    /// </summary>
    public ContentScan(IReadOnlyList<(long Start, long Length, bool Data, bool Zero)> extents, bool hashZeros = true)
    {
        _extents = extents;
        _hashZeros = hashZeros;
        _whole = hashZeros ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    }

    /// <summary>Bytes seen.</summary>
    public long Length { get; private set; }

    /// <summary>Guest offset of the first sector starting with the QCOW magic, or -1.</summary>
    public long FirstMagic { get; private set; } = -1;

    /// <summary>The first non-zero sectors (offset and bytes) inside extents that read as zeros.</summary>
    public List<(long Offset, byte[] Sector)> NonZeroInZeroExtents { get; } = [];

    /// <summary>Reads the whole stream (at most limit bytes; returns false if there was more).</summary>
    public bool ReadAll(Stream s, long limit)
    {
        var buf = new byte[1 << 20];
        while (true)
        {
            int n = s.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            if (n == 0)
            {
                return true;
            }
            if (Length + n > limit)
            {
                Feed(buf.AsSpan(0, (int)(limit - Length)));
                return false;
            }
            Feed(buf.AsSpan(0, n));
        }
    }

    /// <summary>Reads a raw disk file (at most limit bytes; returns false if it is longer), its holes as zeros.</summary>
    public bool ReadFile(string path, long limit) => SparseFile.Read(path, limit, Feed);

    /// <summary>Adds bytes (whole 512-byte sectors except at the very end).</summary>
    public void Feed(ReadOnlySpan<byte> data)
    {
        _whole?.AppendData(data);
        for (int off = 0; FirstMagic < 0 && off < data.Length; off += 512)
        {
            if (data[off..].StartsWith(Magic))
            {
                FirstMagic = Length + off;
            }
        }
        long at = Length;
        int done = 0;
        while (done < data.Length && _index < _extents.Count)
        {
            var e = _extents[_index];
            int take = (int)Math.Min(data.Length - done, e.Start + e.Length - at);
            var part = data.Slice(done, take);
            if (e.Zero)
            {
                FindNonZero(part, at);
            }
            if (e.Zero && _hashZeros && !_currentNonZero)
            {
                // Hashed at the extent's end from ZerosSha256 while it stays zeros; else when a non-zero byte comes.
                _pendingZeros += take;
            }
            else if (_hashZeros || !e.Zero)
            {
                _current ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                AppendZeros(_current, _pendingZeros);
                _pendingZeros = 0;
                _current.AppendData(part);
            }
            done += take;
            at += take;
            if (at == e.Start + e.Length)
            {
                _extentSha.Add(e.Zero && !_hashZeros ? (_currentNonZero ? NotZeros : AllZeros)
                    : e.Zero && !_currentNonZero ? ZerosSha256.GetOrAdd(e.Length, Sha256OfZeros)
                    : Convert.ToHexStringLower(_current!.GetHashAndReset()));
                _currentNonZero = false;
                _pendingZeros = 0;
                _index++;
            }
        }
        Length += data.Length;
    }

    /// <summary>The SHA-256 of everything read (only when zeros are hashed).</summary>
    public string Sha256() => _whole is null
        ? throw new InvalidOperationException("this scan does not hash the whole disk")
        : Convert.ToHexStringLower(_whole.GetCurrentHash());

    /// <summary>The SHA-256 of each extent read completely (see the constructor for zero extents).</summary>
    public IReadOnlyList<string> ExtentSha256 => _extentSha;

    /// <summary>Appends count zero bytes to hash.</summary>
    private static void AppendZeros(IncrementalHash hash, long count)
    {
        for (; count > 0; count -= Math.Min(count, ZeroChunk.Length))
        {
            hash.AppendData(ZeroChunk, 0, (int)Math.Min(count, ZeroChunk.Length));
        }
    }

    /// <summary>The SHA-256 of count zero bytes (computed once per count, through <see cref="ZerosSha256"/>).</summary>
    private static string Sha256OfZeros(long count)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendZeros(hash, count);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Notes the non-zero sectors of part, bytes of a zero extent at guest offset at (a sector boundary).</summary>
    private void FindNonZero(ReadOnlySpan<byte> part, long at)
    {
        int first = part.IndexOfAnyExcept((byte)0);
        if (first < 0)
        {
            return;
        }
        _currentNonZero = true;
        for (int off = first / 512 * 512; off < part.Length && NonZeroInZeroExtents.Count < 16; off += 512)
        {
            var sector = part.Slice(off, Math.Min(512, part.Length - off));
            if (sector.ContainsAnyExcept((byte)0))
            {
                NonZeroInZeroExtents.Add((at + off, sector.ToArray()));
            }
        }
    }
}
