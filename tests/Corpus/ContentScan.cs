using System.Security.Cryptography;

namespace Qcow2.Corpus;

/// <summary>
/// Reads a guest disk as a stream (an adapter's stdout, or QEMU's raw output) and keeps what the verdict needs: its
/// length, the SHA-256 of the whole and of each extent, where the first QCOW header magic ("QFI\xfb") starts a
/// sector, and the first few non-zero sectors found where the extents say the disk reads as zeros.
/// </summary>
public sealed class ContentScan
{
    private static readonly byte[] Magic = [0x51, 0x46, 0x49, 0xfb];
    private readonly IncrementalHash _whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IReadOnlyList<(long Start, long Length, bool Data, bool Zero)> _extents;
    private readonly List<string> _extentSha = [];
    private IncrementalHash? _current;
    private int _index;

    /// <summary>Creates a scan over the given extents (empty when the expectation has none).</summary>
    public ContentScan(IReadOnlyList<(long Start, long Length, bool Data, bool Zero)> extents) => _extents = extents;

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

    /// <summary>Adds bytes (whole 512-byte sectors except at the very end).</summary>
    public void Feed(ReadOnlySpan<byte> data)
    {
        _whole.AppendData(data);
        for (int off = 0; off < data.Length; off += 512)
        {
            var sector = data.Slice(off, Math.Min(512, data.Length - off));
            long pos = Length + off;
            if (FirstMagic < 0 && sector.StartsWith(Magic))
            {
                FirstMagic = pos;
            }
            if (NonZeroInZeroExtents.Count < 16 && InZeroExtent(pos) && sector.ContainsAnyExcept((byte)0))
            {
                NonZeroInZeroExtents.Add((pos, sector.ToArray()));
            }
        }
        long at = Length;
        int done = 0;
        while (done < data.Length && _index < _extents.Count)
        {
            var e = _extents[_index];
            _current ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            int take = (int)Math.Min(data.Length - done, e.Start + e.Length - at);
            _current.AppendData(data.Slice(done, take));
            done += take;
            at += take;
            if (at == e.Start + e.Length)
            {
                _extentSha.Add(Convert.ToHexStringLower(_current.GetHashAndReset()));
                _index++;
            }
        }
        Length += data.Length;
    }

    /// <summary>The SHA-256 of everything read.</summary>
    public string Sha256() => Convert.ToHexStringLower(_whole.GetCurrentHash());

    /// <summary>The SHA-256 of each extent read completely.</summary>
    public IReadOnlyList<string> ExtentSha256 => _extentSha;

    private bool InZeroExtent(long pos)
    {
        for (int i = _index; i < _extents.Count; i++)
        {
            var e = _extents[i];
            if (pos < e.Start + e.Length)
            {
                return pos >= e.Start && e.Zero;
            }
        }
        return false;
    }
}
