using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// Makes a read-only image read an internal snapshot's state instead of the active one (bdrv_snapshot_load_tmp with
    /// qcow2_snapshot_load_tmp): the snapshot matching id and/or name is looked up, its L1 table is checked and read,
    /// and it replaces the active L1 table in memory only. The virtual size stays the image's. Throws SnapshotException
    /// with the text QEMU puts after "Failed to load snapshot: ".
    /// </summary>
    public void LoadSnapshotTemporarily(string? id, string? name)
    {
        CheckUsable();
        if (id is null && name is null)
        {
            throw new SnapshotException("snapshot_id and name are both NULL", Errno.EINVAL);
        }
        if (!_readOnly)
        {
            // QEMU asserts that the node is read-only: nothing may be written through a borrowed L1 table.
            throw new InvalidOperationException("A snapshot can only be loaded temporarily into a read-only image");
        }
        SnapshotEntry sn = _snapshots[FindUsableSnapshot(id, name, "Can't find snapshot")];
        ulong[] l1;
        try
        {
            l1 = ReadTable((long)sn.L1TableOffset, (int)sn.L1Size);
        }
        catch (BlockIOException e)
        {
            throw new SnapshotException("Failed to read l1 table for snapshot", e.Errno);
        }
        _l1Table = l1;
        _l1Size = (int)sn.L1Size;
        _l1TableOffset = (long)sn.L1TableOffset;
    }

    /// <summary>
    /// bdrv_snapshot_load_tmp_by_id_or_name: tries idOrName as an id, and when that finds nothing or an invalid
    /// table (ENOENT or EINVAL), as a name.
    /// </summary>
    public void LoadSnapshotTemporarily(string idOrName)
    {
        try
        {
            LoadSnapshotTemporarily(idOrName, null);
        }
        catch (SnapshotException e) when (e.Errno is Errno.ENOENT or Errno.EINVAL)
        {
            LoadSnapshotTemporarily(null, idOrName);
        }
    }
}
