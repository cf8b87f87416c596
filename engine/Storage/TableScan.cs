using System.Buffers;
using System.Buffers.Binary;

namespace Qcow2.Storage;

/// <summary>
/// Visits the non-zero entries of an on-disk table of big-endian 64-bit entries (an L1 table) without keeping it: one
/// read request, as a whole-table read makes, into a pooled buffer; zero entries are skipped a vector at a time and
/// only the others are decoded. A sparse 1 MiB L1 table (64 TiB) then costs one read and no allocation.
/// </summary>
internal static class TableScan
{
    /// <summary>Reads entries entries at offset from file and calls visit(index, entry) for each non-zero one, in order.</summary>
    public static void ForEachNonZero(IStorage file, long offset, int entries, Action<int, ulong> visit)
    {
        int bytes = checked(entries * 8);
        byte[] rented = ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            Span<byte> raw = rented.AsSpan(0, bytes);
            file.Read(offset, raw);
            int at = 0;
            while (at < bytes)
            {
                int next = raw[at..].IndexOfAnyExcept((byte)0);
                if (next < 0)
                {
                    return;
                }
                int index = (at + next) / 8;
                visit(index, BinaryPrimitives.ReadUInt64BigEndian(raw.Slice(index * 8, 8)));
                at = (index + 1) * 8;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
