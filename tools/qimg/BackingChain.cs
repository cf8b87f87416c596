using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>Walks an opened image's backing chain by the file names qemu gives its layers.</summary>
public static class BackingChain
{
    /// <summary>
    /// bdrv_find_backing_image: the depth (1 = the top's backing file) of the layer whose stored backing name or
    /// resolved path is name, with that layer; -1 and null when no layer matches.
    /// </summary>
    public static int Find(ToolContext ctx, BlockDevice top, string topName, string name, out BlockDevice? layer)
    {
        string wanted = ctx.Resolve(ImageArgs.CombineBackingPath(topName, name));
        string current = topName;
        int depth = 0;
        for (BlockDevice cur = top; cur is Qcow2Image { Backing: BlockDevice backing } q; cur = backing)
        {
            depth++;
            string stored = q.BackingFileName ?? backing.FileName;
            string path = ImageArgs.CombineBackingPath(current, stored);
            if (stored == name || ctx.Resolve(path) == wanted || ctx.Resolve(path) == ctx.Resolve(name))
            {
                layer = backing;
                return depth;
            }
            current = path;
        }
        layer = null;
        return -1;
    }

    /// <summary>The device depth layers below top, or null when the chain is shorter.</summary>
    public static BlockDevice? DeviceAt(BlockDevice top, int depth)
    {
        BlockDevice? cur = top;
        for (int d = 0; d < depth && cur is not null; d++)
        {
            cur = (cur as Qcow2Image)?.Backing;
        }
        return cur;
    }

    /// <summary>The resolved file name and backing format of the layer at depth (1 = the top's backing file).</summary>
    public static (string Path, string? Format) NameAt(BlockDevice top, string topName, int depth)
    {
        string current = topName;
        string? format = null;
        BlockDevice cur = top;
        for (int d = 0; d < depth && cur is Qcow2Image { Backing: BlockDevice backing } q; d++)
        {
            current = ImageArgs.CombineBackingPath(current, q.BackingFileName ?? backing.FileName);
            format = q.BackingFormat ?? backing.FormatName;
            cur = backing;
        }
        return (current, format);
    }
}
