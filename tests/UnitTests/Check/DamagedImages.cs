using System.Buffers.Binary;
using static Qcow2.UnitTests.Support.ImageBytes;
using static Qcow2.UnitTests.Support.ToolProcess;

namespace Qcow2.UnitTests.Check;

/// <summary>
/// Damaged images built with qemu-img, qemu-io and byte pokes. The base layout of a fresh 64 MiB image with one
/// 64 KiB write at 0: header at cluster 0, refcount table at 0x10000, refcount block at 0x20000 (16-bit entries),
/// L1 at 0x30000, L2 at 0x40000, data at 0x50000.
/// </summary>
internal static class DamagedImages
{
    private const long RefTable = 0x10000, RefBlock = 0x20000, L1 = 0x30000, L2 = 0x40000;

    /// <summary>Every scenario by name; each builds its image at the given path.</summary>
    public static readonly IReadOnlyDictionary<string, Action<string>> All = new Dictionary<string, Action<string>>
    {
        ["healthy"] = p => Base(p),
        ["leak-past-data"] = p => { Base(p); Truncate(p, 7 * 65536); Poke(p, RefBlock + 12, Be16(1)); },
        ["refcount-too-high"] = p => { Base(p); Poke(p, RefBlock + 10, Be16(2)); },
        ["refcount-l2-too-high"] = p => { Base(p); Poke(p, RefBlock + 8, Be16(2)); },
        ["refcount-mixed"] = p => { Base(p); Poke(p, RefBlock + 8, Be16(2)); Poke(p, RefBlock + 10, Be16(3)); },
        ["refcount-zero-l1"] = p => { Base(p); Poke(p, RefBlock + 6, Be16(0)); },
        ["refcount-zero-header"] = p => { Base(p); Poke(p, RefBlock, Be16(0)); },
        ["refcount-zero-refblock"] = p => { Base(p); Poke(p, RefBlock + 4, Be16(0)); },
        ["copied-missing-l1"] = p => { Base(p); Poke(p, L1, Be64(0x40000)); },
        ["copied-missing-l2"] = p => { Base(p); Poke(p, L2, Be64(0x50000)); },
        ["refblock-outside-image"] = p => { Base(p); Poke(p, RefTable + 8, Be64(0x1000000)); },
        ["refblock-unaligned"] = p => { Base(p); Poke(p, RefTable + 8, Be64(0x1000200)); },
        ["reftable-reserved-bits"] = p => { Base(p); Poke(p, RefTable + 8, Be64(0x101)); },
        ["l1-unaligned"] = p => { Base(p); Poke(p, L1, Be64(0x8000000000042a00)); },
        ["l1-reserved-bits"] = p => { Base(p); Poke(p, L1, Be64(0x8100000000040000)); },
        ["l2-unaligned"] = p => { Base(p); Poke(p, L2, Be64(0x8000000000052a00)); },
        ["l2-zero-unaligned"] = p => { Base(p); Poke(p, L2, Be64(0x8000000000052a01)); },
        ["l2-reserved-bits"] = p => { Base(p); Poke(p, L2, Be64(0x8000000000050002)); },
        ["l1-points-at-itself"] = p => { Base(p); Poke(p, L1, Be64(0x8000000000030000)); },
        ["data-at-refblock"] = p => { Base(p); Poke(p, L2, Be64(0x8000000000020000)); },
        ["data-at-reftable"] = p => { Base(p); Poke(p, L2, Be64(0x8000000000010000)); },
        ["data-at-l1"] = p => { Base(p); Poke(p, L2, Be64(0x8000000000030000)); },
        ["data-at-l2"] = p => { Base(p); Poke(p, L2, Be64(0x8000000000040000)); },
        ["data-beyond-eof"] = p => { Base(p); Poke(p, L2, Be64(0x8000000001000000)); },
        ["corrupt-bit-only"] = p => { Base(p); Poke(p, 72, Be64(2)); },
        ["corrupt-bit-and-leak"] = p => { Base(p); Poke(p, 72, Be64(2)); Poke(p, RefBlock + 8, Be16(2)); },
        ["compressed"] = p => Compressed(p),
        ["compressed-copied"] = p =>
        {
            Compressed(p);
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(Peek(p, L2, 8));
            Poke(p, L2, Be64(e | 1UL << 63));
        },
        ["refcount-bits-1-leak"] = p =>
        {
            Create(p, "64M", "refcount_bits=1");
            Io(p, "write -P 1 0 64k");
            Truncate(p, 7 * 65536);
            Poke(p, RefBlock, [0x7f]);
        },
        ["refcount-bits-2"] = p => { Create(p, "64M", "refcount_bits=2"); Io(p, "write -P 1 0 128k"); },
        ["refcount-bits-64-zero"] = p =>
        {
            Create(p, "64M", "refcount_bits=64");
            Io(p, "write -P 1 0 64k");
            Poke(p, RefBlock + 5 * 8, Be64(0));
        },
        ["cluster-512-leak"] = p => { Small(p); Poke(p, 0x400 + 2 * 4, Be16(2)); },
        ["cluster-512-zero"] = p => { Small(p); Poke(p, 0x400 + 2 * 3, Be16(0)); },
        ["v2-leak"] = p => { Create(p, "64M", "compat=0.10"); Io(p, "write -P 1 0 64k"); Poke(p, RefBlock + 10, Be16(2)); },
        ["snapshots"] = p => Snapshots(p),
        ["snapshot-l1-unaligned"] = p =>
        {
            Snapshots(p);
            var (table, l1) = SnapshotTable(p);
            Poke(p, table, Be64((ulong)l1 + 512));
        },
        ["snapshot-l1-too-large"] = p => { Snapshots(p); Poke(p, SnapshotTable(p).TableOffset + 8, Be32(0x01000000)); },
        ["snapshot-inactive-l2-at-reftable"] = p =>
        {
            Snapshots(p);
            long l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(Peek(p, SnapshotTable(p).FirstL1Offset, 8)) & 0x00fffffffffffe00);
            Poke(p, l2, Be64(0x8000000000010000));
        },
        ["snapshot-count-too-high"] = p => { Snapshots(p); Poke(p, 60, Be32(0x10001)); },
        ["snapshot-incomplete"] = p => { Snapshots(p); RewriteSnapshotExtra(p, (i, e) => i == 0 ? e[..8] : e[..16]); },
        ["snapshot-too-much-extra"] = p => { Snapshots(p); RewriteSnapshotExtra(p, (i, e) => i == 0 ? [.. e, .. new byte[2000]] : e); },
        ["snapshot-unknown-extra"] = p => { Snapshots(p); RewriteSnapshotExtra(p, (i, e) => i == 1 ? [.. e, .. new byte[40]] : e); },
        ["snapshot-leak"] = p =>
        {
            Snapshots(p);
            long clusters = new FileInfo(p).Length / 65536;
            Truncate(p, (clusters + 1) * 65536);
            Poke(p, RefBlock + 2 * clusters, Be16(1));
        },
    };

    private static void Truncate(string p, long length)
    {
        using var f = File.Open(p, FileMode.Open);
        f.SetLength(length);
    }

    private static void Create(string p, string size, string? opts = null)
    {
        string dir = Path.GetDirectoryName(p)!;
        if (opts is null)
        {
            Must("qemu-img", dir, "create", "-f", "qcow2", p, size);
        }
        else
        {
            Must("qemu-img", dir, "create", "-f", "qcow2", "-o", opts, p, size);
        }
    }

    private static void Io(string p, params string[] cmds)
    {
        var args = new List<string>();
        foreach (var c in cmds)
        {
            args.Add("-c");
            args.Add(c);
        }
        args.Add(p);
        Must("qemu-io", Path.GetDirectoryName(p)!, [.. args]);
    }

    private static void Base(string p) => BuiltOnce.File("damaged-base", p, path =>
    {
        Create(path, "64M");
        Io(path, "write -P 0x11 0 64k");
    });

    private static void Compressed(string p) => BuiltOnce.File("damaged-compressed", p, path =>
    {
        Create(path, "64M");
        Io(path, "write -c -P 0x22 0 64k", "write -P 3 64k 64k");
    });

    private static void Small(string p) => BuiltOnce.File("damaged-small", p, path =>
    {
        Create(path, "1M", "cluster_size=512");
        Io(path, "write -P 1 0 64k", "write -c 128k 512");
    });

    private static void Snapshots(string p) => BuiltOnce.File("damaged-snapshots", p, path =>
    {
        Create(path, "64M");
        Io(path, "write -P 1 0 128k");
        Must("qemu-img", Path.GetDirectoryName(path)!, "snapshot", "-c", "s1", path);
        Io(path, "write -P 2 0 64k", "write -P 3 1M 64k");
        Must("qemu-img", Path.GetDirectoryName(path)!, "snapshot", "-c", "s2", path);
    });

    /// <summary>Rewrites the snapshot table in place with each entry's extra data replaced by change(index, extra).</summary>
    private static void RewriteSnapshotExtra(string p, Func<int, byte[], byte[]> change)
    {
        var f = File.ReadAllBytes(p);
        int nb = (int)BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(60));
        int table = (int)BinaryPrimitives.ReadUInt64BigEndian(f.AsSpan(64));
        var output = new List<byte>();
        int off = table;
        for (int i = 0; i < nb; i++)
        {
            off = (off + 7) & ~7;
            var fixedPart = f.AsSpan(off, 40).ToArray();
            int idLen = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(12));
            int nameLen = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(14));
            int extraLen = (int)BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(36));
            var extra = change(i, f.AsSpan(off + 40, extraLen).ToArray());
            var names = f.AsSpan(off + 40 + extraLen, idLen + nameLen).ToArray();
            off += 40 + extraLen + idLen + nameLen;
            BinaryPrimitives.WriteUInt32BigEndian(fixedPart.AsSpan(36), (uint)extra.Length);
            while (output.Count % 8 != 0)
            {
                output.Add(0);
            }
            output.AddRange(fixedPart);
            output.AddRange(extra);
            output.AddRange(names);
        }
        Poke(p, table, [.. output]);
    }
}
