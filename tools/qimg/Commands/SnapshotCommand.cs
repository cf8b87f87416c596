using System.Text;
using Qcow2.Block;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qimg snapshot: qemu-img 7.2's img_snapshot (list, create, apply, delete internal snapshots).</summary>
public static class SnapshotCommand
{
    /// <summary>QEMUSnapshotInfo.name holds 256 bytes, so qemu-img keeps at most 255 bytes of a new snapshot's name.</summary>
    private const int MaxNameBytes = 255;

    /// <summary>Runs the command; args[0] is "snapshot".</summary>
    public static int Run(string[] args, ToolContext ctx)
    {
        char action = '\0';
        string name = "";
        var g = new CommandOptions(args, ":la:c:d:hqU", CommandOptions.CommonAndForceShare, ctx);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'l' or 'a' or 'c' or 'd':
                    if (action != '\0')
                    {
                        throw new QimgUsageException("Cannot mix '-l', '-a', '-c', '-d'");
                    }
                    action = (char)c;
                    name = g.OptArg ?? "";
                    break;
            }
        }
        using BlockDevice dev = OpenImage(ctx, g.OneImage(), null, g.ImageOpts, writable: action != 'l', g.ForceShare);
        var image = dev as Qcow2Image;
        bool ok = action switch
        {
            'l' => List(ctx, image),
            'c' => Create(ctx, image, name),
            'a' => Apply(ctx, image, name),
            'd' => Delete(ctx, image, name),
            _ => true,
        };
        return ok ? 0 : 1;
    }

    private static bool List(ToolContext ctx, Qcow2Image? image)
    {
        if (image is null || image.Snapshots.Count == 0)
        {
            return true;
        }
        var w = ctx.Out;
        w.Write("Snapshot list:\n");
        w.Write(SnapshotTable.Header() + "\n");
        foreach (var s in image.Snapshots)
        {
            w.Write(SnapshotTable.Row(s) + "\n");
        }
        return true;
    }

    private static bool Create(ToolContext ctx, Qcow2Image? image, string name)
    {
        try
        {
            if (image is null)
            {
                throw new BlockIOException(Errno.ENOTSUP);
            }
            image.CreateSnapshot(TruncateName(name));
            return true;
        }
        catch (BlockIOException e)
        {
            ctx.Err.Write($"{QimgTool.Name}: Could not create snapshot '{name}': -{(int)e.Errno} ({ErrnoText.Of(e.Errno)})\n");
            return false;
        }
    }

    private static bool Apply(ToolContext ctx, Qcow2Image? image, string name)
    {
        if (image is null)
        {
            ctx.Err.Write($"{QimgTool.Name}: Could not apply snapshot '{name}': Block driver does not support snapshots\n");
            return false;
        }
        try
        {
            image.ApplySnapshot(name);
            return true;
        }
        catch (SnapshotException e)
        {
            foreach (string line in e.Reports)
            {
                ctx.Err.Write($"{QimgTool.Name}: {line}\n");
            }
            ctx.Err.Write($"{QimgTool.Name}: Could not apply snapshot '{name}': {e.Message}\n");
            return false;
        }
        catch (BlockIOException e)
        {
            ctx.Err.Write($"{QimgTool.Name}: Could not apply snapshot '{name}': Failed to load snapshot: {e.Message}\n");
            return false;
        }
    }

    private static bool Delete(ToolContext ctx, Qcow2Image? image, string name)
    {
        // qemu-img looks the snapshot up by name only (bdrv_snapshot_find), then deletes it by id and name.
        var sn = image?.Snapshots.FirstOrDefault(s => s.Name == name);
        if (image is null || sn is null)
        {
            ctx.Err.Write($"{QimgTool.Name}: Could not delete snapshot '{name}': snapshot not found\n");
            return false;
        }
        try
        {
            image.DeleteSnapshot(sn.Id, sn.Name);
            return true;
        }
        catch (BlockIOException e)
        {
            ctx.Err.Write($"{QimgTool.Name}: Could not delete snapshot '{name}': {e.Message}\n");
            return false;
        }
    }

    private static string TruncateName(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        return bytes.Length <= MaxNameBytes ? name : Encoding.UTF8.GetString(bytes, 0, MaxNameBytes);
    }

    /// <summary>
    /// Opens an image as img_open does for commands that may write: read-write unless writable is false, refusing
    /// force-share on a writable open, and warning when a raw image was probed for writing.
    /// </summary>
    internal static BlockDevice OpenImage(ToolContext ctx, string filename, string? format, bool imageOpts, bool writable, bool forceShare, bool resize = false)
    {
        if (!writable)
        {
            return ImageArgs.Open(ctx, filename, format, imageOpts, noBacking: false, forceShare);
        }
        var options = new OpenOptions
        {
            Format = format,
            ReadOnly = false,
            Resize = resize,
        }.ForTool(ctx);
        string file = imageOpts ? ImageArgs.ApplyImageOpts(filename, options) : filename;
        if (forceShare)
        {
            throw new QimgException($"Could not open '{file}': force-share=on can only be used with read-only images");
        }
        return ImageArgs.OpenFile(ctx, file, options, warnProbedRaw: true, imageOpts ? filename : null);
    }
}
