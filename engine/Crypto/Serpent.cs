using System.Buffers.Binary;
using System.Numerics;

namespace Qcow2.Crypto;

/// <summary>
/// Serpent (Anderson, Biham, Knudsen, 1998) with 128-, 192- or 256-bit keys, 16-byte blocks, written from the
/// paper's bitslice description: 32 rounds of key mixing, one of eight 4-bit S-boxes applied across the four words,
/// and the linear transformation. Bytes map to little-endian words, as in the Linux kernel, libgcrypt and nettle
/// (the byte order LUKS uses). Each S-box is applied through a table indexed by two bit columns at once.
/// </summary>
public sealed class Serpent : BlockCipher
{
    private const int Rounds = 32;

    /// <summary>The key schedule's constant, the fractional part of the golden ratio.</summary>
    private const uint Phi = 0x9E3779B9;

    /// <summary>The eight S-boxes of the paper, S0..S7.</summary>
    private static readonly byte[][] SBoxes =
    [
        [3, 8, 15, 1, 10, 6, 5, 11, 14, 13, 4, 2, 7, 0, 9, 12],
        [15, 12, 2, 7, 9, 0, 5, 10, 1, 11, 14, 8, 6, 13, 3, 4],
        [8, 6, 7, 9, 3, 12, 10, 15, 13, 1, 14, 4, 0, 11, 5, 2],
        [0, 15, 11, 8, 12, 9, 6, 3, 13, 1, 2, 4, 10, 7, 5, 14],
        [1, 15, 8, 3, 12, 0, 11, 6, 2, 5, 4, 10, 9, 14, 7, 13],
        [15, 5, 2, 11, 4, 10, 9, 12, 0, 3, 14, 8, 13, 6, 7, 1],
        [7, 2, 12, 5, 8, 4, 6, 11, 14, 9, 1, 15, 13, 3, 10, 0],
        [1, 13, 15, 0, 14, 8, 2, 11, 7, 4, 12, 10, 9, 3, 5, 6],
    ];

    /// <summary>
    /// For each S-box (and, from 8 on, its inverse): 256 entries indexed by two adjacent bit columns (the nibble of
    /// column 2c in the low 4 bits, of column 2c+1 in the high 4), giving the two output nibbles in the same layout.
    /// </summary>
    private static readonly byte[][] Pairs = BuildPairs();

    private readonly uint[] _k = new uint[4 * (Rounds + 1)];

    /// <summary>Sets up the key schedule for a 16-, 24- or 32-byte key.</summary>
    public Serpent(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentOutOfRangeException(nameof(key), key.Length, "Serpent key must be 16, 24 or 32 bytes");
        }
        Span<byte> full = stackalloc byte[32];
        full.Clear();
        key.CopyTo(full);
        if (key.Length < 32)
        {
            full[key.Length] = 1; // a short key is padded with a single 1 bit, then zeros
        }
        Span<uint> w = stackalloc uint[8 + _k.Length];
        for (int i = 0; i < 8; i++)
        {
            w[i] = BinaryPrimitives.ReadUInt32LittleEndian(full[(4 * i)..]);
        }
        for (int i = 0; i < _k.Length; i++)
        {
            w[i + 8] = BitOperations.RotateLeft(w[i] ^ w[i + 3] ^ w[i + 5] ^ w[i + 7] ^ Phi ^ (uint)i, 11);
        }
        for (int i = 0; i <= Rounds; i++)
        {
            uint a = w[8 + 4 * i], b = w[9 + 4 * i], c = w[10 + 4 * i], d = w[11 + 4 * i];
            Apply(Pairs[(35 - i) % 8], ref a, ref b, ref c, ref d); // K_i takes S-box (3 - i) mod 8
            _k[4 * i] = a;
            _k[4 * i + 1] = b;
            _k[4 * i + 2] = c;
            _k[4 * i + 3] = d;
        }
    }

    /// <inheritdoc/>
    public override int BlockSize => 16;

    /// <inheritdoc/>
    protected override void EncryptBlock(Span<byte> block)
    {
        uint a = BinaryPrimitives.ReadUInt32LittleEndian(block), b = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]);
        uint c = BinaryPrimitives.ReadUInt32LittleEndian(block[8..]), d = BinaryPrimitives.ReadUInt32LittleEndian(block[12..]);
        for (int r = 0; r < Rounds; r++)
        {
            a ^= _k[4 * r];
            b ^= _k[4 * r + 1];
            c ^= _k[4 * r + 2];
            d ^= _k[4 * r + 3];
            Apply(Pairs[r % 8], ref a, ref b, ref c, ref d);
            if (r < Rounds - 1)
            {
                Linear(ref a, ref b, ref c, ref d);
            }
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block, a ^ _k[4 * Rounds]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], b ^ _k[4 * Rounds + 1]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], c ^ _k[4 * Rounds + 2]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], d ^ _k[4 * Rounds + 3]);
    }

    /// <inheritdoc/>
    protected override void DecryptBlock(Span<byte> block)
    {
        uint a = BinaryPrimitives.ReadUInt32LittleEndian(block) ^ _k[4 * Rounds];
        uint b = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]) ^ _k[4 * Rounds + 1];
        uint c = BinaryPrimitives.ReadUInt32LittleEndian(block[8..]) ^ _k[4 * Rounds + 2];
        uint d = BinaryPrimitives.ReadUInt32LittleEndian(block[12..]) ^ _k[4 * Rounds + 3];
        for (int r = Rounds - 1; r >= 0; r--)
        {
            if (r < Rounds - 1)
            {
                InverseLinear(ref a, ref b, ref c, ref d);
            }
            Apply(Pairs[8 + r % 8], ref a, ref b, ref c, ref d);
            a ^= _k[4 * r];
            b ^= _k[4 * r + 1];
            c ^= _k[4 * r + 2];
            d ^= _k[4 * r + 3];
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block, a);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], b);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], c);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], d);
    }

    /// <summary>The bitslice S-box: bit j of a, b, c, d (least significant first) is the nibble of column j.</summary>
    private static void Apply(byte[] pairs, ref uint a, ref uint b, ref uint c, ref uint d)
    {
        uint oa = 0, ob = 0, oc = 0, od = 0;
        for (int j = 0; j < 32; j += 2)
        {
            // Two columns at once: bits j and j+1 of each word packed as (a, b, c, d) for column j, then column j+1.
            int index = (int)(((a >> j) & 1) | (((b >> j) & 1) << 1) | (((c >> j) & 1) << 2) | (((d >> j) & 1) << 3)
                | (((a >> (j + 1)) & 1) << 4) | (((b >> (j + 1)) & 1) << 5) | (((c >> (j + 1)) & 1) << 6) | (((d >> (j + 1)) & 1) << 7));
            uint o = pairs[index];
            oa |= ((o & 1) | ((o >> 3) & 2)) << j;
            ob |= (((o >> 1) & 1) | ((o >> 4) & 2)) << j;
            oc |= (((o >> 2) & 1) | ((o >> 5) & 2)) << j;
            od |= (((o >> 3) & 1) | ((o >> 6) & 2)) << j;
        }
        a = oa;
        b = ob;
        c = oc;
        d = od;
    }

    /// <summary>The linear transformation LT of the paper.</summary>
    private static void Linear(ref uint a, ref uint b, ref uint c, ref uint d)
    {
        a = BitOperations.RotateLeft(a, 13);
        c = BitOperations.RotateLeft(c, 3);
        b ^= a ^ c;
        d ^= c ^ (a << 3);
        b = BitOperations.RotateLeft(b, 1);
        d = BitOperations.RotateLeft(d, 7);
        a ^= b ^ d;
        c ^= d ^ (b << 7);
        a = BitOperations.RotateLeft(a, 5);
        c = BitOperations.RotateLeft(c, 22);
    }

    /// <summary>LT undone, step by step in reverse.</summary>
    private static void InverseLinear(ref uint a, ref uint b, ref uint c, ref uint d)
    {
        c = BitOperations.RotateRight(c, 22);
        a = BitOperations.RotateRight(a, 5);
        c ^= d ^ (b << 7);
        a ^= b ^ d;
        d = BitOperations.RotateRight(d, 7);
        b = BitOperations.RotateRight(b, 1);
        d ^= c ^ (a << 3);
        b ^= a ^ c;
        c = BitOperations.RotateRight(c, 3);
        a = BitOperations.RotateRight(a, 13);
    }

    private static byte[][] BuildPairs()
    {
        var pairs = new byte[16][];
        for (int s = 0; s < 8; s++)
        {
            var inverse = new byte[16];
            for (int x = 0; x < 16; x++)
            {
                inverse[SBoxes[s][x]] = (byte)x;
            }
            pairs[s] = Pair(SBoxes[s]);
            pairs[8 + s] = Pair(inverse);
        }
        return pairs;
    }

    private static byte[] Pair(byte[] box)
    {
        var t = new byte[256];
        for (int x = 0; x < 256; x++)
        {
            t[x] = (byte)(box[x & 0xF] | (box[x >> 4] << 4));
        }
        return t;
    }
}
