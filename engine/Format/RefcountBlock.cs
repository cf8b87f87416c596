using System.Buffers.Binary;

namespace Qcow2.Format;

/// <summary>Reads and writes entries of a refcount block of any width (1 to 64 bits; sub-byte widths start at the least significant bit).</summary>
public static class RefcountBlock
{
    /// <summary>The refcount at index in a block of 2^order-bit entries.</summary>
    public static ulong Get(ReadOnlySpan<byte> block, long index, int order)
    {
        switch (order)
        {
            case 6: return BinaryPrimitives.ReadUInt64BigEndian(block[(int)(index * 8)..]);
            case 5: return BinaryPrimitives.ReadUInt32BigEndian(block[(int)(index * 4)..]);
            case 4: return BinaryPrimitives.ReadUInt16BigEndian(block[(int)(index * 2)..]);
            case 3: return block[(int)index];
            default:
                int bits = 1 << order;
                int perByte = 8 / bits;
                int shift = (int)(index % perByte) * bits;
                return (ulong)((block[(int)(index / perByte)] >> shift) & ((1 << bits) - 1));
        }
    }

    /// <summary>Sets the refcount at index (value must fit the width).</summary>
    public static void Set(Span<byte> block, long index, int order, ulong value)
    {
        switch (order)
        {
            case 6: BinaryPrimitives.WriteUInt64BigEndian(block[(int)(index * 8)..], value); break;
            case 5: BinaryPrimitives.WriteUInt32BigEndian(block[(int)(index * 4)..], (uint)value); break;
            case 4: BinaryPrimitives.WriteUInt16BigEndian(block[(int)(index * 2)..], (ushort)value); break;
            case 3: block[(int)index] = (byte)value; break;
            default:
                int bits = 1 << order;
                int perByte = 8 / bits;
                int shift = (int)(index % perByte) * bits;
                int mask = ((1 << bits) - 1) << shift;
                ref byte b = ref block[(int)(index / perByte)];
                b = (byte)((b & ~mask) | (((int)value << shift) & mask));
                break;
        }
    }

    /// <summary>The largest refcount a width can hold.</summary>
    public static ulong Max(int order) => order == 6 ? ulong.MaxValue : (1UL << (1 << order)) - 1;
}
