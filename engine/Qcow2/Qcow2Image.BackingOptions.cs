using Qcow2.Block;

namespace Qcow2;

/// <summary>The image node's "backing" reference and backing.* options: its backing child's own options.</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// backing= (an empty reference, QEMU's deprecated spelling of null) opens no backing file; any other reference names
    /// a node, of which a tool has none here.
    /// </summary>
    private bool BackingDisabledByOption()
    {
        if (!_options.Options.TryGetValue("backing", out string? reference))
        {
            return false;
        }
        if (reference == JsonFileName.NullBacking)
        {
            return true;
        }
        if (reference.Length == 0)
        {
            WarnEmptyBacking();
            return true;
        }
        throw new ImageOpenException($"Could not open backing file: Cannot find device='{reference}' nor node-name='{reference}'");
    }

    private void WarnEmptyBacking() => Report("warning: Use of \"backing\": \"\" is deprecated; use \"backing\": null instead");

    /// <summary>
    /// Moves the backing.* options into the backing node's options (backing.driver its format, backing.file.filename its
    /// file, taken as given) and returns the name to open it by.
    /// </summary>
    private string ApplyBackingOptions(OpenOptions opts, string name)
    {
        const string Prefix = "backing.";
        foreach (var (k, v) in _options.Options)
        {
            if (k.StartsWith(Prefix, StringComparison.Ordinal))
            {
                opts.Options[k[Prefix.Length..]] = v;
            }
        }
        if (opts.Options.Remove("driver", out string? driver))
        {
            opts.Format = driver;
        }
        if (opts.Options.Remove("file.filename", out string? file))
        {
            name = file;
            opts.LiteralFileName = true;
            opts.BaseDirectory = _options.BaseDirectory;
        }
        else if (opts.Format is "copy-on-read" or "compress" && opts.Options.Keys.Any(k => k.StartsWith("file.", StringComparison.Ordinal)))
        {
            // The stored name becomes the filter's filename option, which its file.* options exclude (bdrv_fill_options).
            throw new ImageOpenException("Can't specify 'file' and 'filename' options at the same time");
        }
        // A backing file is read-only whatever backing.read-only says.
        opts.Options.Remove("read-only");
        return name;
    }
}
