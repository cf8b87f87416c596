using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qio.Commands;

/// <summary>alloc, map, info and length.</summary>
internal static class StatusCommands
{
    /// <summary>bdrv_is_allocated: whether the extent at offset is allocated in this layer; num gets its length (0 at the end).</summary>
    public static int IsAllocated(BlockDevice dev, long offset, long bytes, out long num)
    {
        num = 0;
        long size = dev.Size;
        if (bytes <= 0 || offset >= size)
        {
            return 0;
        }
        BlockStatus st;
        try
        {
            st = dev.GetStatus(offset, Math.Min(bytes, size - offset));
        }
        catch (Exception e) when (QioSession.IsRequestFailure(e))
        {
            return QioSession.ErrnoOf(e);
        }
        num = Math.Clamp(st.Length, 0, bytes);
        return st.Allocated ? 1 : 0;
    }

    /// <summary>alloc offset [count].</summary>
    public static int Alloc(QioSession s, string[] argv)
    {
        var dev = s.Device!;
        var start = IoCommands.Number(s, argv[1], out int rc);
        if (start is null)
        {
            return rc;
        }
        long count = 512;
        if (argv.Length == 3)
        {
            var c = IoCommands.Number(s, argv[2], out rc);
            if (c is null)
            {
                return rc;
            }
            count = c.Value;
        }
        long offset = start.Value, remaining = count, sumAlloc = 0;
        while (remaining > 0)
        {
            int ret = IsAllocated(dev, offset, remaining, out long num);
            if (ret < 0)
            {
                s.Out.WriteLine($"is_allocated failed: {QioSession.StrError(ret)}");
                return ret;
            }
            offset += num;
            remaining -= num;
            if (ret > 0)
            {
                sumAlloc += num;
            }
            if (num == 0)
            {
                count -= remaining;
                remaining = 0;
            }
        }
        s.Out.WriteLine($"{sumAlloc}/{count} bytes allocated at offset {Report.SizeString(start.Value)}");
        return 0;
    }

    private static int MapIsAllocated(BlockDevice dev, long offset, long bytes, out long pnum)
    {
        int ret = IsAllocated(dev, offset, bytes, out long num);
        pnum = num;
        if (ret < 0)
        {
            return ret;
        }
        int first = ret;
        while (bytes > 0 && ret == first)
        {
            offset += num;
            bytes -= num;
            ret = IsAllocated(dev, offset, bytes, out num);
            if (ret == first && num > 0)
            {
                pnum += num;
            }
            else
            {
                break;
            }
        }
        return first;
    }

    /// <summary>map: the allocated and unallocated extents of the whole image.</summary>
    public static int Map(QioSession s, string[] argv)
    {
        var dev = s.Device!;
        long offset = 0;
        long bytes = dev.Size;
        while (bytes > 0)
        {
            int ret = MapIsAllocated(dev, offset, bytes, out long num);
            if (ret < 0)
            {
                s.ErrorReport($"Failed to get allocation status: {QioSession.StrError(ret)}");
                return ret;
            }
            if (num == 0)
            {
                s.ErrorReport("Unexpected end of image");
                return -(int)Errno.EIO;
            }
            string what = ret > 0 ? "    allocated" : "not allocated";
            s.Out.WriteLine($"{Report.SizeString(num)} (0x{num:x}) bytes {what} at offset {Report.SizeString(offset)} (0x{offset:x})");
            offset += num;
            bytes -= num;
        }
        return 0;
    }

    /// <summary>length: the virtual size.</summary>
    public static int Length(QioSession s, string[] argv)
    {
        s.Out.WriteLine(Report.SizeString(s.Device!.Size));
        return 0;
    }

    /// <summary>info: format, cluster size, VM state offset and the format-specific section.</summary>
    public static int Info(QioSession s, string[] argv)
    {
        var dev = s.Device!;
        var o = s.Out;
        o.WriteLine($"format name: {dev.FormatName}");
        if (dev.IsProtocol)
        {
            // qemu-io 7.2 prints a protocol node's name twice.
            o.WriteLine($"format name: {dev.FormatName}");
        }
        if (dev.Info is not { } info)
        {
            return -(int)Errno.ENOTSUP;
        }
        o.WriteLine($"cluster size: {Report.SizeString(info.ClusterSize)}");
        o.WriteLine($"vm state offset: {Report.SizeString(info.VmStateOffset)}");
        if (dev is LuksDevice luks)
        {
            o.WriteLine("Format specific information:");
            var sb = new System.Text.StringBuilder();
            QJson.DumpHuman(sb, EncryptionInfo.Specific(luks), 1);
            o.Write(sb.ToString());
        }
        if (dev is not Qcow2Image q)
        {
            return 0;
        }
        o.WriteLine("Format specific information:");
        bool v3 = q.Header.Version >= 3;
        o.WriteLine($"    compat: {(v3 ? "1.1" : "0.10")}");
        o.WriteLine($"    compression type: {q.CompressionTypeName}");
        if (v3)
        {
            o.WriteLine($"    lazy refcounts: {(q.LazyRefcounts ? "true" : "false")}");
        }
        o.WriteLine($"    refcount bits: {q.RefcountBits}");
        if (q.DataFileName is not null)
        {
            o.WriteLine($"    data file: {q.DataFileName}");
        }
        if (q.HasDataFile)
        {
            o.WriteLine($"    data file raw: {(q.DataFileRaw ? "true" : "false")}");
        }
        if (v3)
        {
            o.WriteLine($"    corrupt: {(q.Corrupt ? "true" : "false")}");
            o.WriteLine($"    extended l2: {(q.ExtendedL2 ? "true" : "false")}");
        }
        return 0;
    }
}
