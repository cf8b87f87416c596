using Qcow2.Block;
using Qcow2.Overlap;

namespace Qcow2.Tools.Qio.Commands;

/// <summary>open, close and reopen.</summary>
internal static class FileCommands
{
    private const int EINVAL = -(int)Errno.EINVAL;

    /// <summary>open.</summary>
    public static readonly CommandInfo OpenInfo = new("open", "o", Open, 1, -1,
        "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]", "open the file specified by path", HelpTexts.Open, CommandScope.NoFileOk);

    /// <summary>reopen.</summary>
    public static readonly CommandInfo ReopenInfo = new("reopen", null, Reopen, 0, -1,
        "[(-r|-w)] [-c cache] [-o options]", "reopens an image with new options", HelpTexts.Reopen);

    /// <summary>Cache modes bdrv_parse_cache_mode accepts.</summary>
    public static bool IsCacheMode(string mode) => mode is "off" or "none" or "directsync" or "writeback" or "unsafe" or "writethrough";

    /// <summary>Whether a valid cache mode keeps the write cache off, so every write is followed by a flush (bdrv_parse_cache_mode).</summary>
    public static bool IsWriteThrough(string mode) => mode is "writethrough" or "directsync";

    /// <summary>Discard modes bdrv_parse_discard_flags accepts.</summary>
    public static bool IsDiscardMode(string mode) => mode is "off" or "ignore" or "on" or "unmap";

    /// <summary>AIO modes bdrv_parse_aio accepts.</summary>
    public static bool IsAioMode(string mode) => mode is "native" or "threads" or "io_uring";

    /// <summary>The complaint qemu-io prints about a cache ('t'), discard ('d') or aio ('i') mode, or null when the mode is valid.</summary>
    public static string? ModeError(char option, string mode) => option switch
    {
        't' when !IsCacheMode(mode) => $"Invalid cache option: {mode}",
        'd' when !IsDiscardMode(mode) => $"Invalid discard option: {mode}",
        'i' when !IsAioMode(mode) => $"Invalid aio option: {mode}",
        _ => null,
    };

    /// <summary>Parses an option string into options, printing warnings and errors as qemu_opts_parse_noisily does.</summary>
    public static bool ParseOptions(QioSession s, string text, List<KeyValuePair<string, string>> options)
    {
        var warnings = new List<string>();
        string? error = OptionString.Parse(text, options, warnings);
        foreach (var w in warnings)
        {
            s.Warn(w);
        }
        if (error is not null)
        {
            s.ErrorReport(error);
            return false;
        }
        return true;
    }

    private static int Open(QioSession s, string[] argv)
    {
        bool readOnly = false, forceShare = false, writeThrough = true, unmap = true, snapshot = false;
        var options = new List<KeyValuePair<string, string>>();
        var g = new GetOpt(argv, "snCro:ki:t:d:U", s.Err);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 's': snapshot = true; break;
                case 'n': case 'C': case 'k': break;
                case 'r': readOnly = true; break;
                case 't' or 'd' or 'i':
                    if (ModeError((char)c, g.OptArg!) is string modeError)
                    {
                        s.ErrorReport(modeError);
                        return EINVAL;
                    }
                    if (c == 'd')
                    {
                        unmap = g.OptArg is "on" or "unmap";
                    }
                    break;
                case 'o':
                    if (s.ImageOpts)
                    {
                        s.Out.WriteLine("--image-opts and 'open -o' are mutually exclusive");
                        return EINVAL;
                    }
                    if (!ParseOptions(s, g.OptArg!, options))
                    {
                        return EINVAL;
                    }
                    break;
                case 'U': forceShare = true; break;
                default: return IoCommands.Usage(s, OpenInfo);
            }
        }
        var operands = g.Operands;
        if (s.ImageOpts && operands.Count == 1)
        {
            if (!ParseOptions(s, operands[0], options))
            {
                return EINVAL;
            }
            operands = [];
        }
        if (operands.Count > 1)
        {
            return IoCommands.Usage(s, OpenInfo);
        }
        string? name = operands.Count == 1 ? operands[0] : null;
        return s.OpenFile(new OpenRequest(name, readOnly, forceShare, options) { WriteThrough = writeThrough, Unmap = unmap, Snapshot = snapshot }) != 0 ? EINVAL : 0;
    }

    /// <summary>close.</summary>
    public static int Close(QioSession s, string[] argv)
    {
        s.CloseFile();
        return 0;
    }

    private static int Reopen(QioSession s, string[] argv)
    {
        var last = s.LastOpen!;
        bool readOnly = s.Device!.ReadOnly, writeThrough = last.WriteThrough;
        bool rwGiven = false, cacheGiven = false;
        var options = new List<KeyValuePair<string, string>>();
        var g = new GetOpt(argv, "c:o:rw", s.Err);
        for (int c; (c = g.Next()) != -1;)
        {
            switch (c)
            {
                case 'c':
                    if (ModeError('t', g.OptArg!) is string modeError)
                    {
                        s.ErrorReport(modeError);
                        return EINVAL;
                    }
                    writeThrough = IsWriteThrough(g.OptArg!);
                    cacheGiven = true;
                    break;
                case 'o':
                    if (!ParseOptions(s, g.OptArg!, options))
                    {
                        return EINVAL;
                    }
                    break;
                case 'r':
                case 'w':
                    if (rwGiven)
                    {
                        s.ErrorReport("Only one -r/-w option may be given");
                        return EINVAL;
                    }
                    readOnly = c == 'r';
                    rwGiven = true;
                    break;
                default: return IoCommands.Usage(s, ReopenInfo);
            }
        }
        if (g.Operands.Count != 0)
        {
            return IoCommands.Usage(s, ReopenInfo);
        }
        var given = OptionString.ToDictionary(options);
        if (given.ContainsKey("read-only") && rwGiven)
        {
            s.ErrorReport("Cannot set both -r/-w and 'read-only'");
            return EINVAL;
        }
        if ((given.ContainsKey("cache.direct") || given.ContainsKey("cache.no-flush")) && cacheGiven)
        {
            s.ErrorReport("Cannot set both -c and the cache options");
            return EINVAL;
        }
        return ReopenWith(s, last, options, given.ContainsKey("read-only") ? null : readOnly, writeThrough);
    }

    /// <summary>
    /// bdrv_reopen as qemu-io calls it: the options given are joined to those the image was opened with, every node checks
    /// them before anything changes (a refused reopen leaves the image as it was), then a change of the runtime options
    /// is made in place and a change between read-only and read-write opens the image again.
    /// </summary>
    private static int ReopenWith(QioSession s, OpenRequest last, List<KeyValuePair<string, string>> options, bool? readOnlyFlag, bool writeThrough)
    {
        var merged = new List<KeyValuePair<string, string>>(last.Options);
        var given = OptionString.ToDictionary(options);
        merged.RemoveAll(kv => given.ContainsKey(kv.Key) || (readOnlyFlag is not null && kv.Key == "read-only"));
        merged.AddRange(options);
        var all = OptionString.ToDictionary(merged);
        bool readOnly = readOnlyFlag ?? QemuOptionSyntax.TryParseBool(given["read-only"]) == true;
        if (readOnlyFlag == true)
        {
            // qemu-io drops the backend's write permission whenever the reopen's flags are read-only.
            s.BackendWritable = false;
        }
        try
        {
            BlockReopen.Prepare(s.Device!, OpenedOptions(s, last), all, last.Unmap);
            if (readOnly && !s.Device!.ReadOnly && s.BackendWritable)
            {
                string node = (s.Device as Qcow2Image)?.NodeName ?? "#block001";
                throw new ImageOpenException($"Read-only block node '{node}' cannot support read-write users");
            }
            if (readOnly == s.Device!.ReadOnly && s.Device is Qcow2Image image)
            {
                all.Remove("driver");
                all.Remove("force-share");
                s.Aio.Drain();
                image.Reopen(all, writeThrough);
                s.Reopened(last with { Options = merged, WriteThrough = writeThrough });
                return 0;
            }
        }
        catch (Exception e) when (e is ImageOpenException or BlockIOException)
        {
            s.ErrorReport(e.Message);
            return EINVAL;
        }
        var request = last with { ReadOnly = readOnly, Options = merged, WriteThrough = writeThrough, Reopening = true };
        s.CloseFile();
        if (s.OpenFile(request) != 0)
        {
            // Keep an image open, as a failed reopen leaves the old state in place.
            s.OpenFile(last with { Reopening = false });
            return EINVAL;
        }
        return 0;
    }

    /// <summary>The options the image was opened with, as QEMU keeps them for the node (-U is force-share=on).</summary>
    private static Dictionary<string, string> OpenedOptions(QioSession s, OpenRequest last)
    {
        var opened = OptionString.ToDictionary(last.Options);
        if (last.ForceShare)
        {
            opened["force-share"] = "on";
        }
        if (last.Name is not null)
        {
            opened.TryAdd("file.filename", s.Device!.FileName);
        }
        return opened;
    }
}
