using System.Buffers.Binary;
using System.Numerics;

namespace Qcow2.Crypto;

/// <summary>
/// RIPEMD-160 (Dobbertin, Bosselaers, Preneel, 1996): two parallel lines of five 16-step rounds over little-endian
/// words, combined at the end of each block. Written from the paper's description; .NET on Linux has no RIPEMD-160.
/// </summary>
public sealed class Ripemd160Hash : BlockHash
{
    /// <summary>The message word each step of the left (R) and right (RR) line reads.</summary>
    private static readonly byte[] R =
    [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8,
        3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12, 1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2,
        4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13,
    ], RR =
    [
        5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12, 6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2,
        15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13, 8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14,
        12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11,
    ];

    /// <summary>The rotation of each step of the left (S) and right (SR) line.</summary>
    private static readonly byte[] S =
    [
        11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8, 7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12,
        11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5, 11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12,
        9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6,
    ], SR =
    [
        8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6, 9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11,
        9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5, 15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8,
        8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11,
    ];

    /// <summary>The round constants of the left and right lines.</summary>
    private static readonly uint[] KL = [0x00000000, 0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xa953fd4e],
        KR = [0x50a28be6, 0x5c4dd124, 0x6d703ef3, 0x7a6d76e9, 0x00000000];

    private static readonly uint[] Initial = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

    private readonly uint[] _x = new uint[16];

    /// <summary>A new message.</summary>
    public Ripemd160Hash()
        : base(Initial, 20, bigEndian: false)
    {
    }

    /// <summary>The five boolean functions, f(round, x, y, z).</summary>
    private static uint F(int round, uint x, uint y, uint z) => round switch
    {
        0 => x ^ y ^ z,
        1 => (x & y) | (~x & z),
        2 => (x | ~y) ^ z,
        3 => (x & z) | (y & ~z),
        _ => x ^ (y | ~z),
    };

    /// <inheritdoc/>
    protected override void Compress(ReadOnlySpan<byte> block)
    {
        var x = _x;
        for (int i = 0; i < 16; i++)
        {
            x[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(4 * i)..]);
        }
        uint al = State[0], bl = State[1], cl = State[2], dl = State[3], el = State[4];
        uint ar = al, br = bl, cr = cl, dr = dl, er = el;
        for (int j = 0; j < 80; j++)
        {
            int round = j / 16;
            uint t = BitOperations.RotateLeft(al + F(round, bl, cl, dl) + x[R[j]] + KL[round], S[j]) + el;
            al = el;
            el = dl;
            dl = BitOperations.RotateLeft(cl, 10);
            cl = bl;
            bl = t;
            t = BitOperations.RotateLeft(ar + F(4 - round, br, cr, dr) + x[RR[j]] + KR[round], SR[j]) + er;
            ar = er;
            er = dr;
            dr = BitOperations.RotateLeft(cr, 10);
            cr = br;
            br = t;
        }
        uint h0 = State[0];
        State[0] = State[1] + cl + dr;
        State[1] = State[2] + dl + er;
        State[2] = State[3] + el + ar;
        State[3] = State[4] + al + br;
        State[4] = h0 + bl + cr;
    }
}
