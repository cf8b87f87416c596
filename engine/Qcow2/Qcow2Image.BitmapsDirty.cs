using System.Buffers.Binary;
using System.Numerics;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>An in-memory dirty bitmap (QEMU's BdrvDirtyBitmap over an HBitmap): one bit per granularity bytes of the disk.</summary>
    private sealed class DirtyBitmap
    {
        private ulong[] _words;

        public DirtyBitmap(string name, int granularityBits, long diskSize)
        {
            Name = name;
            GranularityBits = granularityBits;
            DiskSize = diskSize;
            BitCount = (diskSize + (1L << granularityBits) - 1) >> granularityBits;
            _words = new ulong[(BitCount + 63) / 64];
        }

        /// <summary>hbitmap_truncate: covers a new disk length; new bits are clear, bits past a shrunk end are dropped.</summary>
        public void Truncate(long diskSize)
        {
            DiskSize = diskSize;
            BitCount = (diskSize + Granularity - 1) >> GranularityBits;
            Array.Resize(ref _words, (int)((BitCount + 63) / 64));
            long tailBits = BitCount & 63;
            if (tailBits != 0)
            {
                _words[^1] &= (1UL << (int)tailBits) - 1;
            }
        }

        /// <summary>The bitmap's name (null for QEMU's anonymous merge bitmap).</summary>
        public string Name { get; }

        public int GranularityBits { get; }

        public long Granularity => 1L << GranularityBits;

        /// <summary>The disk length the bitmap covers (the HBitmap's orig_size).</summary>
        public long DiskSize { get; private set; }

        public long BitCount { get; private set; }

        public bool Enabled { get; set; } = true;

        public bool Persistent { get; set; }

        /// <summary>Loaded with the in_use flag: its data is unusable and it is never stored.</summary>
        public bool Inconsistent { get; set; }

        /// <summary>Loaded from a read-only image: never stored, never changed.</summary>
        public bool ReadOnly { get; set; }

        /// <summary>hbitmap_serialization_size of the whole bitmap: whole 64-bit words.</summary>
        public long SerializedSize => (long)_words.Length * 8;

        /// <summary>Sets the bits covering [offset, offset + bytes) (hbitmap_set).</summary>
        public void SetRange(long offset, long bytes)
        {
            if (bytes <= 0 || offset >= DiskSize)
            {
                return;
            }
            long first = offset >> GranularityBits;
            long last = Math.Min(BitCount - 1, (offset + bytes - 1) >> GranularityBits);
            for (long b = first; b <= last;)
            {
                int shift = (int)(b & 63);
                int n = (int)Math.Min(64 - shift, last - b + 1);
                ulong mask = n == 64 ? ulong.MaxValue : ((1UL << n) - 1) << shift;
                _words[b >> 6] |= mask;
                b += n;
            }
        }

        public void Clear() => Array.Clear(_words);

        public bool Get(long bit) => (_words[bit >> 6] & (1UL << (int)(bit & 63))) != 0;

        /// <summary>The first set bit at or after bit, or -1.</summary>
        public long NextSet(long bit)
        {
            while (bit < BitCount)
            {
                ulong w = _words[bit >> 6] >> (int)(bit & 63);
                if (w != 0)
                {
                    return bit + BitOperations.TrailingZeroCount(w);
                }
                bit = (bit | 63) + 1;
            }
            return -1;
        }

        /// <summary>Writes the words from byte position start of the serialized form into dst (little-endian words, zero beyond the end).</summary>
        public void Serialize(long start, Span<byte> dst)
        {
            dst.Clear();
            long firstWord = start / 8;
            for (int i = 0; i + 8 <= dst.Length && firstWord + i / 8 < _words.Length; i += 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(dst[i..], _words[firstWord + i / 8]);
            }
        }

        /// <summary>Reads serialized words starting at byte position start (bits beyond the bitmap's end are dropped).</summary>
        public void Deserialize(long start, ReadOnlySpan<byte> src)
        {
            long firstWord = start / 8;
            for (int i = 0; i + 8 <= src.Length && firstWord + i / 8 < _words.Length; i += 8)
            {
                _words[firstWord + i / 8] = BinaryPrimitives.ReadUInt64LittleEndian(src[i..]);
            }
            long tailBits = BitCount & 63;
            if (tailBits != 0 && _words.Length > 0)
            {
                _words[^1] &= (1UL << (int)tailBits) - 1;
            }
        }

        /// <summary>Ors src into this bitmap; with another granularity every dirty byte range of src is set here (hbitmap_merge).</summary>
        public void MergeFrom(DirtyBitmap src)
        {
            if (src.GranularityBits == GranularityBits)
            {
                for (int i = 0; i < _words.Length; i++)
                {
                    _words[i] |= src._words[i];
                }
                return;
            }
            for (long b = src.NextSet(0); b >= 0; b = src.NextSet(b + 1))
            {
                long start = b << src.GranularityBits;
                long end = Math.Min(start + src.Granularity, src.DiskSize);
                SetRange(start, end - start);
            }
        }
    }
}
