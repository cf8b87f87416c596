using System.Globalization;
using Qcow2.Block;

namespace Qcow2.Tools.Mkimage;

/// <summary>
/// `mkimage IMAGE build "DESCRIPTION"`: creates a qcow2 image from a short description of space-separated items,
/// e.g. "size=64M cluster_size=512 refcount_bits=16 compat=1.1 lazy_refcounts=on write=0+64k@0x2a snapshot=s1 write=1M+4k@1".
/// Items are applied in order: the image options first, then writes (OFFSET+LENGTH@PATTERN, sizes in QEMU's
/// size syntax) and snapshots (snapshot=NAME). The layout is the engine's, which is qemu-img's and qemu-io's.
/// </summary>
internal static class Build
{
    /// <summary>The description syntax, for the usage text.</summary>
    public const string Syntax = "\"size=64M [cluster_size=N] [refcount_bits=N] [compat=0.10|1.1] [lazy_refcounts=on] [write=OFF+LEN@PAT]... [snapshot=NAME]...\"";

    /// <summary>Creates the image at path from the description.</summary>
    public static void Run(string path, string description)
    {
        var items = description.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(i => (Key: i.Split('=', 2)[0], Value: i.Contains('=') ? i.Split('=', 2)[1] : ""))
            .ToList();
        var o = new Qcow2CreateOptions();
        bool sized = false;
        foreach (var (key, value) in items)
        {
            switch (key)
            {
                case "size": o.Size = Size(value, key); sized = true; break;
                case "cluster_size": o.ClusterSize = checked((int)Size(value, key)); break;
                case "refcount_bits": o.RefcountBits = checked((int)Size(value, key)); break;
                case "compat": o.Version = value switch { "0.10" or "v2" => 2, "1.1" or "v3" => 3, _ => throw Bad(key, value) }; break;
                case "lazy_refcounts": o.LazyRefcounts = value == "on"; break;
                case "write" or "snapshot": break;
                default: throw new MkimageException($"build: unknown item '{key}'");
            }
        }
        if (!sized)
        {
            throw new MkimageException("build: the description needs size=SIZE");
        }
        if (o.ClusterSize < 512 || o.ClusterSize > 2 << 20 || (o.ClusterSize & (o.ClusterSize - 1)) != 0)
        {
            throw Bad("cluster_size", o.ClusterSize.ToString(CultureInfo.InvariantCulture));
        }
        if (o.RefcountBits < 1 || o.RefcountBits > 64 || (o.RefcountBits & (o.RefcountBits - 1)) != 0 || (o.Version == 2 && o.RefcountBits != 16))
        {
            throw Bad("refcount_bits", o.RefcountBits.ToString(CultureInfo.InvariantCulture));
        }
        Qcow2Image.Create(path, o);
        using var img = (Qcow2Image)ImageOpener.Open(path, new OpenOptions { Format = "qcow2" });
        foreach (var (key, value) in items)
        {
            if (key == "write")
            {
                var m = System.Text.RegularExpressions.Regex.Match(value, @"^([^+@]+)\+([^+@]+)@(.+)$");
                if (!m.Success)
                {
                    throw Bad(key, value);
                }
                long off = Size(m.Groups[1].Value, key), len = Size(m.Groups[2].Value, key);
                var pattern = (byte)Size(m.Groups[3].Value, key);
                img.Write(off, Enumerable.Repeat(pattern, checked((int)len)).ToArray());
            }
            else if (key == "snapshot")
            {
                img.CreateSnapshot(value);
            }
        }
    }

    private static MkimageException Bad(string key, string value) => new($"build: invalid {key} '{value}'");

    /// <summary>A number in QEMU's size syntax (k, M, G, T, P, E suffixes; 0x hex).</summary>
    private static long Size(string text, string key)
    {
        try
        {
            ulong v = Overlap.QemuOptionSyntax.ParseSize(key, text);
            return v <= long.MaxValue ? (long)v : throw Bad(key, text);
        }
        catch (ImageOpenException)
        {
            throw Bad(key, text);
        }
    }
}
