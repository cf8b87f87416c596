using System.Buffers.Binary;
using System.Numerics;

namespace Qcow2.Crypto;

/// <summary>
/// CAST-128 (RFC 2144) with a 128-bit key: a 16-round Feistel cipher over 8-byte blocks, with three round function
/// types mixing a 32-bit masking subkey and a 5-bit rotation subkey into four S-box look-ups. Words are big-endian.
/// QEMU offers it for LUKS in cbc mode only (its 8-byte block rules out xts).
/// </summary>
public sealed partial class Cast5 : BlockCipher
{
    private const int Rounds = 16;

    /// <summary>
    /// One step of the key schedule (RFC 2144, 2.4): a 32-bit word of the destination (z from x, or x from z) is the
    /// source word Src XORed with S5..S8 of four bytes (of the source for word 0, of the destination after it) and
    /// one more S-box (ExtraBox, 4..7 for S5..S8) of source byte Extra.
    /// </summary>
    private readonly record struct Step(int Src, byte[] Main, int ExtraBox, int Extra);

    private static readonly byte[] Later0 = [0x0, 0x2, 0x1, 0x3], Later1 = [0x7, 0x6, 0x5, 0x4], Later2 = [0xA, 0x9, 0xB, 0x8];

    /// <summary>z0..zF from x0..xF, then x0..xF from z0..zF.</summary>
    private static readonly Step[] ZFromX = [new(0, [0xD, 0xF, 0xC, 0xE], 6, 0x8), new(2, Later0, 7, 0xA), new(3, Later1, 4, 0x9), new(1, Later2, 5, 0xB)],
        XFromZ = [new(2, [0x5, 0x7, 0x4, 0x6], 6, 0x0), new(0, Later0, 7, 0x2), new(1, Later1, 4, 0x1), new(3, Later2, 5, 0x3)];

    /// <summary>The four subkeys taken after each step: the bytes fed to S5..S8, then the byte fed to S5, S6, S7, S8 in turn.</summary>
    private static readonly byte[][] AfterZ1 = [[0x8, 0x9, 0x7, 0x6, 0x2], [0xA, 0xB, 0x5, 0x4, 0x6], [0xC, 0xD, 0x3, 0x2, 0x9], [0xE, 0xF, 0x1, 0x0, 0xC]],
        AfterX1 = [[0x3, 0x2, 0xC, 0xD, 0x8], [0x1, 0x0, 0xE, 0xF, 0xD], [0x7, 0x6, 0x8, 0x9, 0x3], [0x5, 0x4, 0xA, 0xB, 0x7]],
        AfterZ2 = [[0x3, 0x2, 0xC, 0xD, 0x9], [0x1, 0x0, 0xE, 0xF, 0xC], [0x7, 0x6, 0x8, 0x9, 0x2], [0x5, 0x4, 0xA, 0xB, 0x6]],
        AfterX2 = [[0x8, 0x9, 0x7, 0x6, 0x3], [0xA, 0xB, 0x5, 0x4, 0x7], [0xC, 0xD, 0x3, 0x2, 0x8], [0xE, 0xF, 0x1, 0x0, 0xD]];

    private readonly uint[] _km = new uint[Rounds];
    private readonly int[] _kr = new int[Rounds];

    /// <summary>Sets up the key schedule for a 16-byte key.</summary>
    public Cast5(ReadOnlySpan<byte> key)
    {
        if (key.Length != 16)
        {
            throw new ArgumentOutOfRangeException(nameof(key), key.Length, "CAST5 key must be 16 bytes");
        }
        byte[] x = key.ToArray(), z = new byte[16];
        var k = new uint[2 * Rounds];
        int n = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            n = Schedule(ZFromX, x, z, AfterZ1, k, n);
            n = Schedule(XFromZ, z, x, AfterX1, k, n);
            n = Schedule(ZFromX, x, z, AfterZ2, k, n);
            n = Schedule(XFromZ, z, x, AfterX2, k, n);
        }
        for (int i = 0; i < Rounds; i++)
        {
            _km[i] = k[i];
            _kr[i] = (int)(k[Rounds + i] & 31);
        }
    }

    /// <summary>One step of the key schedule into dst, then four subkeys from dst at k[n..].</summary>
    private static int Schedule(Step[] steps, byte[] src, byte[] dst, byte[][] subkeys, uint[] k, int n)
    {
        for (int w = 0; w < 4; w++)
        {
            var s = steps[w];
            byte[] from = w == 0 ? src : dst;
            uint v = BinaryPrimitives.ReadUInt32BigEndian(src.AsSpan(4 * s.Src)) ^ S[4][from[s.Main[0]]] ^ S[5][from[s.Main[1]]]
                ^ S[6][from[s.Main[2]]] ^ S[7][from[s.Main[3]]] ^ S[s.ExtraBox][src[s.Extra]];
            BinaryPrimitives.WriteUInt32BigEndian(dst.AsSpan(4 * w), v);
        }
        for (int i = 0; i < 4; i++)
        {
            byte[] b = subkeys[i];
            k[n++] = S[4][dst[b[0]]] ^ S[5][dst[b[1]]] ^ S[6][dst[b[2]]] ^ S[7][dst[b[3]]] ^ S[4 + i][dst[b[4]]];
        }
        return n;
    }

    /// <inheritdoc/>
    public override int BlockSize => 8;

    /// <summary>The round function of round i (0-based): type 1, 2, 3 in turn.</summary>
    private uint F(int i, uint d)
    {
        uint t;
        switch (i % 3)
        {
            case 0:
                t = BitOperations.RotateLeft(_km[i] + d, _kr[i]);
                return ((S[0][t >> 24] ^ S[1][(byte)(t >> 16)]) - S[2][(byte)(t >> 8)]) + S[3][(byte)t];
            case 1:
                t = BitOperations.RotateLeft(_km[i] ^ d, _kr[i]);
                return ((S[0][t >> 24] - S[1][(byte)(t >> 16)]) + S[2][(byte)(t >> 8)]) ^ S[3][(byte)t];
            default:
                t = BitOperations.RotateLeft(_km[i] - d, _kr[i]);
                return ((S[0][t >> 24] + S[1][(byte)(t >> 16)]) ^ S[2][(byte)(t >> 8)]) - S[3][(byte)t];
        }
    }

    /// <inheritdoc/>
    protected override void EncryptBlock(Span<byte> block)
    {
        uint l = BinaryPrimitives.ReadUInt32BigEndian(block), r = BinaryPrimitives.ReadUInt32BigEndian(block[4..]);
        for (int i = 0; i < Rounds; i++)
        {
            (l, r) = (r, l ^ F(i, r));
        }
        BinaryPrimitives.WriteUInt32BigEndian(block, r);
        BinaryPrimitives.WriteUInt32BigEndian(block[4..], l);
    }

    /// <inheritdoc/>
    protected override void DecryptBlock(Span<byte> block)
    {
        uint l = BinaryPrimitives.ReadUInt32BigEndian(block), r = BinaryPrimitives.ReadUInt32BigEndian(block[4..]);
        for (int i = Rounds - 1; i >= 0; i--)
        {
            (l, r) = (r, l ^ F(i, r));
        }
        BinaryPrimitives.WriteUInt32BigEndian(block, r);
        BinaryPrimitives.WriteUInt32BigEndian(block[4..], l);
    }
}
