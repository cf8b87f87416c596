namespace Qcow2.Block;

/// <summary>
/// A file name's protocol prefix, as QEMU's bdrv_find_protocol reads it: a name whose first ':' comes before any '/'
/// names a protocol (<c>file:</c>, <c>nbd:</c>, ...). <c>file:</c> is stripped (a name that still looks like it has
/// a protocol is then shown as <c>./name</c>, as QEMU shows it); <c>json:</c> and <c>blkdebug:</c> are read elsewhere,
/// <c>null-co://</c> and <c>null-aio://</c> name the null protocol;
/// the other protocols of QEMU 7.2 are refused, and a prefix QEMU does not know is an "Unknown protocol".
/// </summary>
internal static class ProtocolPrefix
{
    /// <summary>The protocols (and protocol-like drivers) a Debian QEMU 7.2 build accepts as a file name prefix.</summary>
    private static readonly string[] QemuProtocols =
    [
        "nbd", "nbd+tcp", "nbd+unix", "ssh", "http", "https", "ftp", "ftps", "iscsi", "nfs", "gluster", "gluster+tcp",
        "gluster+unix", "gluster+rdma", "rbd", "host_device", "host_cdrom", "blkverify", "fat", "nvme",
    ];

    /// <summary>The null protocol a resolved name names ("null-co" for null-co://), or null.</summary>
    public static string? NullProtocol(string fileName) =>
        fileName is "null-co://" or "null-aio://" ? fileName[..^3] : null;

    /// <summary>Whether a name starts with a protocol prefix (path_has_protocol).</summary>
    public static bool HasProtocol(string fileName)
    {
        int stop = fileName.AsSpan().IndexOfAny(':', '/');
        return stop >= 0 && fileName[stop] == ':';
    }

    /// <summary>The name of the file to open: <paramref name="fileName"/> without a <c>file:</c> prefix; throws QEMU's
    /// error for an unknown protocol and ours for a protocol this engine does not implement.</summary>
    public static string Resolve(string fileName)
    {
        if (!HasProtocol(fileName) || fileName.StartsWith("blkdebug:", StringComparison.Ordinal))
        {
            return fileName;
        }
        string protocol = fileName[..fileName.IndexOf(':', StringComparison.Ordinal)];
        if (protocol is "null-co" or "null-aio")
        {
            // null_file_open's parse_filename: the name is the protocol and nothing else.
            return fileName == protocol + "://" ? fileName
                : throw new ImageOpenException($"The only allowed filename for this driver is '{protocol}://'");
        }
        if (protocol == "file")
        {
            string path = fileName[(protocol.Length + 1)..];
            return HasProtocol(path) ? "./" + path : path;
        }
        if (QemuProtocols.Contains(protocol))
        {
            throw new ImageOpenException($"the '{protocol}' protocol is not supported by this engine (only local files)", Errno.ENOTSUP);
        }
        throw new ImageOpenException($"Unknown protocol '{protocol}'");
    }
}
