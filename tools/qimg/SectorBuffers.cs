namespace Qcow2.Tools.Qimg;

/// <summary>qemu-img's sector-wise buffer comparison, shared by compare and rebase.</summary>
public static class SectorBuffers
{
    /// <summary>BDRV_SECTOR_SIZE.</summary>
    private const int SectorSize = 512;

    /// <summary>compare_buffers: whether the first sectors differ, and how many bytes share that outcome.</summary>
    public static bool Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int bytes, out int pnum)
    {
        int i = Math.Min(bytes, SectorSize);
        bool res = !a[..i].SequenceEqual(b[..i]);
        while (i < bytes)
        {
            int len = Math.Min(bytes - i, SectorSize);
            if (!a.Slice(i, len).SequenceEqual(b.Slice(i, len)) != res)
            {
                break;
            }
            i += len;
        }
        pnum = i;
        return res;
    }
}
