namespace Qcow2.Tools.Qimg;

/// <summary>qemu-img convert's sparse detection: which leading sectors of a buffer hold data, with its alignment rules.</summary>
public static class ConvertSectors
{
    /// <summary>BDRV_SECTOR_SIZE.</summary>
    public const int SectorSize = 512;

    /// <summary>Whether the buffer holds only zero bytes (buffer_is_zero).</summary>
    public static bool IsZero(ReadOnlySpan<byte> buf) => !buf.ContainsAnyExcept((byte)0);

    private static bool SectorIsZero(ReadOnlySpan<byte> buf, int sector) => IsZero(buf.Slice(sector * SectorSize, SectorSize));

    /// <summary>
    /// is_allocated_sectors: whether the first sector holds data, and in count how many sectors from the start share its
    /// state. A run that does not fill the buffer is made to end on an alignment boundary: a data run is extended up to
    /// it; a zero run no longer than the misalignment counts as data; a longer zero run is cut back to the boundary.
    /// </summary>
    public static bool IsAllocated(ReadOnlySpan<byte> buf, int n, out int count, long sectorNum, int alignment)
    {
        if (n <= 0)
        {
            count = 0;
            return false;
        }
        bool isZero = SectorIsZero(buf, 0);
        int i = 1;
        while (i < n && SectorIsZero(buf, i) == isZero)
        {
            i++;
        }
        if (i == n)
        {
            count = i;
            return !isZero;
        }
        int tail = (int)((sectorNum + i) & (alignment - 1));
        if (tail != 0)
        {
            if (isZero && i <= tail)
            {
                isZero = false;
            }
            if (!isZero)
            {
                i = Math.Min(i + alignment - tail, n);
            }
            else
            {
                i -= tail;
            }
        }
        count = i;
        return !isZero;
    }

    /// <summary>
    /// is_allocated_sectors_min: like IsAllocated, but when the buffer starts with data, zero runs shorter than min
    /// sectors inside it are kept in the data run so that writes are not split for small holes.
    /// </summary>
    public static bool IsAllocatedMin(ReadOnlySpan<byte> buf, int n, out int count, int min, long sectorNum, int alignment)
    {
        if (n < min)
        {
            min = n;
        }
        if (!IsAllocated(buf, n, out count, sectorNum, alignment))
        {
            return false;
        }
        int used = count;
        int checkedSectors = used;
        int pos = count;
        n -= count;
        sectorNum += count;
        while (n > 0)
        {
            bool data = IsAllocated(buf[(pos * SectorSize)..], n, out int run, sectorNum, alignment);
            pos += run;
            n -= run;
            sectorNum += run;
            checkedSectors += run;
            if (data)
            {
                used = checkedSectors;
            }
            else if (run >= min)
            {
                break;
            }
        }
        count = used;
        return true;
    }
}
