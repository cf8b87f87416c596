using System.Buffers.Binary;
using System.Numerics;

namespace Qcow2.Crypto;

/// <summary>
/// Twofish (Schneier et al., 1998) with 128-, 192- or 256-bit keys, 16-byte blocks, written from the paper. The
/// key-dependent S-boxes are folded with the MDS matrix into four 256-entry tables at key setup, so a round is
/// eight table look-ups. Words are little-endian, as in the paper's reference code.
/// </summary>
public sealed class Twofish : BlockCipher
{
    private const int Rounds = 16;

    /// <summary>The MDS matrix's field: x^8 + x^6 + x^5 + x^3 + 1.</summary>
    private const int MdsPoly = 0x169;

    /// <summary>The Reed-Solomon code's field: x^8 + x^6 + x^3 + x^2 + 1.</summary>
    private const int RsPoly = 0x14D;

    /// <summary>The subkey step ρ = 2^24 + 2^16 + 2^8 + 1.</summary>
    private const uint Rho = 0x01010101;

    private static readonly byte[,] Mds = { { 0x01, 0xEF, 0x5B, 0x5B }, { 0x5B, 0xEF, 0xEF, 0x01 }, { 0xEF, 0x5B, 0x01, 0xEF }, { 0xEF, 0x01, 0xEF, 0x5B } };

    private static readonly byte[,] Rs =
    {
        { 0x01, 0xA4, 0x55, 0x87, 0x5A, 0x58, 0xDB, 0x9E }, { 0xA4, 0x56, 0x82, 0xF3, 0x1E, 0xC6, 0x68, 0xE5 },
        { 0x02, 0xA1, 0xFC, 0xC1, 0x47, 0xAE, 0x3D, 0x19 }, { 0xA4, 0x55, 0x87, 0x5A, 0x58, 0xDB, 0x9E, 0x03 },
    };

    /// <summary>The 4-bit t-boxes from which the fixed permutations q0 and q1 are built (paper, section 4.3.5).</summary>
    private static readonly byte[][] Q0T =
    [
        [0x8, 0x1, 0x7, 0xD, 0x6, 0xF, 0x3, 0x2, 0x0, 0xB, 0x5, 0x9, 0xE, 0xC, 0xA, 0x4],
        [0xE, 0xC, 0xB, 0x8, 0x1, 0x2, 0x3, 0x5, 0xF, 0x4, 0xA, 0x6, 0x7, 0x0, 0x9, 0xD],
        [0xB, 0xA, 0x5, 0xE, 0x6, 0xD, 0x9, 0x0, 0xC, 0x8, 0xF, 0x3, 0x2, 0x4, 0x7, 0x1],
        [0xD, 0x7, 0xF, 0x4, 0x1, 0x2, 0x6, 0xE, 0x9, 0xB, 0x3, 0x0, 0x8, 0x5, 0xC, 0xA],
    ], Q1T =
    [
        [0x2, 0x8, 0xB, 0xD, 0xF, 0x7, 0x6, 0xE, 0x3, 0x1, 0x9, 0x4, 0x0, 0xA, 0xC, 0x5],
        [0x1, 0xE, 0x2, 0xB, 0x4, 0xC, 0x3, 0x7, 0x6, 0xD, 0xA, 0x5, 0xF, 0x9, 0x0, 0x8],
        [0x4, 0xC, 0x7, 0x5, 0x1, 0x6, 0x9, 0xA, 0x0, 0xE, 0xD, 0x8, 0x2, 0xB, 0x3, 0xF],
        [0xB, 0x9, 0x5, 0x1, 0xC, 0x3, 0xD, 0xE, 0x6, 0x4, 0x7, 0xF, 0x2, 0x0, 0x8, 0xA],
    ];

    private static readonly byte[] Q0 = BuildQ(Q0T), Q1 = BuildQ(Q1T);

    /// <summary>The four key-dependent S-boxes, each already multiplied by its MDS column.</summary>
    private readonly uint[] _s0 = new uint[256], _s1 = new uint[256], _s2 = new uint[256], _s3 = new uint[256];

    /// <summary>The 40 subkeys: 8 for whitening, 2 per round.</summary>
    private readonly uint[] _k = new uint[8 + 2 * Rounds];

    /// <summary>Sets up the key schedule for a 16-, 24- or 32-byte key.</summary>
    public Twofish(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentOutOfRangeException(nameof(key), key.Length, "Twofish key must be 16, 24 or 32 bytes");
        }
        int k = key.Length / 8;
        var even = new uint[k];
        var odd = new uint[k];
        var sbox = new uint[k];
        for (int i = 0; i < k; i++)
        {
            even[i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(8 * i)..]);
            odd[i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(8 * i + 4)..]);
            sbox[k - 1 - i] = RsEncode(key.Slice(8 * i, 8)); // S = (S_{k-1}, ..., S_0)
        }
        for (int i = 0; i < _k.Length / 2; i++)
        {
            uint a = H((uint)(2 * i) * Rho, even);
            uint b = BitOperations.RotateLeft(H((uint)(2 * i + 1) * Rho, odd), 8);
            _k[2 * i] = a + b;
            _k[2 * i + 1] = BitOperations.RotateLeft(a + 2 * b, 9);
        }
        for (int x = 0; x < 256; x++)
        {
            _s0[x] = MdsColumn(0, Chain(0, (byte)x, sbox));
            _s1[x] = MdsColumn(1, Chain(1, (byte)x, sbox));
            _s2[x] = MdsColumn(2, Chain(2, (byte)x, sbox));
            _s3[x] = MdsColumn(3, Chain(3, (byte)x, sbox));
        }
    }

    /// <inheritdoc/>
    public override int BlockSize => 16;

    private uint G(uint x) => _s0[(byte)x] ^ _s1[(byte)(x >> 8)] ^ _s2[(byte)(x >> 16)] ^ _s3[x >> 24];

    /// <inheritdoc/>
    protected override void EncryptBlock(Span<byte> block)
    {
        uint r0 = BinaryPrimitives.ReadUInt32LittleEndian(block) ^ _k[0];
        uint r1 = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]) ^ _k[1];
        uint r2 = BinaryPrimitives.ReadUInt32LittleEndian(block[8..]) ^ _k[2];
        uint r3 = BinaryPrimitives.ReadUInt32LittleEndian(block[12..]) ^ _k[3];
        for (int r = 0; r < Rounds; r += 2)
        {
            uint t0 = G(r0), t1 = G(BitOperations.RotateLeft(r1, 8));
            r2 = BitOperations.RotateRight(r2 ^ (t0 + t1 + _k[2 * r + 8]), 1);
            r3 = BitOperations.RotateLeft(r3, 1) ^ (t0 + 2 * t1 + _k[2 * r + 9]);
            t0 = G(r2);
            t1 = G(BitOperations.RotateLeft(r3, 8));
            r0 = BitOperations.RotateRight(r0 ^ (t0 + t1 + _k[2 * r + 10]), 1);
            r1 = BitOperations.RotateLeft(r1, 1) ^ (t0 + 2 * t1 + _k[2 * r + 11]);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block, r2 ^ _k[4]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], r3 ^ _k[5]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], r0 ^ _k[6]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], r1 ^ _k[7]);
    }

    /// <inheritdoc/>
    protected override void DecryptBlock(Span<byte> block)
    {
        uint r2 = BinaryPrimitives.ReadUInt32LittleEndian(block) ^ _k[4];
        uint r3 = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]) ^ _k[5];
        uint r0 = BinaryPrimitives.ReadUInt32LittleEndian(block[8..]) ^ _k[6];
        uint r1 = BinaryPrimitives.ReadUInt32LittleEndian(block[12..]) ^ _k[7];
        for (int r = Rounds - 2; r >= 0; r -= 2)
        {
            uint t0 = G(r2), t1 = G(BitOperations.RotateLeft(r3, 8));
            r0 = BitOperations.RotateLeft(r0, 1) ^ (t0 + t1 + _k[2 * r + 10]);
            r1 = BitOperations.RotateRight(r1 ^ (t0 + 2 * t1 + _k[2 * r + 11]), 1);
            t0 = G(r0);
            t1 = G(BitOperations.RotateLeft(r1, 8));
            r2 = BitOperations.RotateLeft(r2, 1) ^ (t0 + t1 + _k[2 * r + 8]);
            r3 = BitOperations.RotateRight(r3 ^ (t0 + 2 * t1 + _k[2 * r + 9]), 1);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block, r0 ^ _k[0]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], r1 ^ _k[1]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], r2 ^ _k[2]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], r3 ^ _k[3]);
    }

    /// <summary>The function h of the paper: each byte of x through its q-chain keyed by list, then the MDS matrix.</summary>
    private static uint H(uint x, uint[] list)
    {
        uint z = 0;
        for (int j = 0; j < 4; j++)
        {
            z ^= MdsColumn(j, Chain(j, (byte)(x >> (8 * j)), list));
        }
        return z;
    }

    /// <summary>Byte j of h before the MDS matrix: q0/q1 look-ups alternating with XORs of the list words' byte j.</summary>
    private static byte Chain(int j, byte y, uint[] list)
    {
        byte L(int i) => (byte)(list[i] >> (8 * j));
        if (list.Length == 4)
        {
            y = (byte)((j is 0 or 3 ? Q1[y] : Q0[y]) ^ L(3));
        }
        if (list.Length >= 3)
        {
            y = (byte)((j is 0 or 1 ? Q1[y] : Q0[y]) ^ L(2));
        }
        return j switch
        {
            0 => Q1[Q0[Q0[y] ^ L(1)] ^ L(0)],
            1 => Q0[Q0[Q1[y] ^ L(1)] ^ L(0)],
            2 => Q1[Q1[Q0[y] ^ L(1)] ^ L(0)],
            _ => Q0[Q1[Q1[y] ^ L(1)] ^ L(0)],
        };
    }

    /// <summary>Column j of the MDS matrix times y, as a little-endian word.</summary>
    private static uint MdsColumn(int j, byte y)
    {
        uint z = 0;
        for (int i = 0; i < 4; i++)
        {
            z |= (uint)Multiply(Mds[i, j], y, MdsPoly) << (8 * i);
        }
        return z;
    }

    /// <summary>The RS code of 8 key bytes: one word of the S-box key.</summary>
    private static uint RsEncode(ReadOnlySpan<byte> m)
    {
        uint s = 0;
        for (int i = 0; i < 4; i++)
        {
            int b = 0;
            for (int c = 0; c < 8; c++)
            {
                b ^= Multiply(Rs[i, c], m[c], RsPoly);
            }
            s |= (uint)b << (8 * i);
        }
        return s;
    }

    /// <summary>a·b in GF(2^8) reduced by poly.</summary>
    private static int Multiply(int a, int b, int poly)
    {
        int r = 0;
        for (; b != 0; b >>= 1)
        {
            if ((b & 1) != 0)
            {
                r ^= a;
            }
            a <<= 1;
            if ((a & 0x100) != 0)
            {
                a ^= poly;
            }
        }
        return r;
    }

    /// <summary>q0 or q1 from its t-boxes: two rounds of a 4-bit Feistel-like mixing (paper, section 4.3.5).</summary>
    private static byte[] BuildQ(byte[][] t)
    {
        static int Ror4(int x) => ((x >> 1) | (x << 3)) & 0xF;
        var q = new byte[256];
        for (int x = 0; x < 256; x++)
        {
            int a = x >> 4, b = x & 0xF;
            for (int round = 0; round < 2; round++)
            {
                int a1 = a ^ b, b1 = (a ^ Ror4(b) ^ (8 * a)) & 0xF;
                a = t[2 * round][a1];
                b = t[2 * round + 1][b1];
            }
            q[x] = (byte)(16 * b + a);
        }
        return q;
    }
}
