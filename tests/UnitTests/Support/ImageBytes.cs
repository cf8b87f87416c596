using System.Buffers.Binary;

namespace Qcow2.UnitTests.Support;

/// <summary>Pokes and peeks bytes of image files and spells big-endian values, for tests that damage images.</summary>
public static class ImageBytes
{
    /// <summary>Overwrites bytes of a file in place (printf | dd conv=notrunc).</summary>
    public static void Poke(string path, long offset, byte[] data)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(data);
    }

    /// <summary>Reads bytes of a file.</summary>
    public static byte[] Peek(string path, long offset, int length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
        var b = new byte[length];
        f.Position = offset;
        f.ReadExactly(b);
        return b;
    }

    /// <summary>A big-endian 64-bit value.</summary>
    public static byte[] Be64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        return b;
    }

    /// <summary>A big-endian 32-bit value.</summary>
    public static byte[] Be32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    /// <summary>A big-endian 16-bit value.</summary>
    public static byte[] Be16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    /// <summary>The snapshot table's offset and the first snapshot's L1 offset, read from the header.</summary>
    public static (long TableOffset, long FirstL1Offset) SnapshotTable(string path)
    {
        long table = (long)BinaryPrimitives.ReadUInt64BigEndian(Peek(path, 64, 8));
        long l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(Peek(path, table, 8));
        return (table, l1);
    }
}
