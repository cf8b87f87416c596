using Qcow2.Block;
using Qcow2.Cli;
using Qcow2.Tools.Qio.Commands;

namespace Qcow2.Tools.Qio;

/// <summary>The state of one qio run: the open image, the pending aio requests, and the streams.</summary>
internal sealed class QioSession
{
    /// <summary>The program name printed where qemu-io prints "qemu-io".</summary>
    public const string ProgramName = "qio";

    /// <summary>Creates a session over a tool context.</summary>
    public QioSession(ToolContext ctx)
    {
        Ctx = ctx;
        Aio = new AioQueue();
    }

    /// <summary>Streams and working directory.</summary>
    public ToolContext Ctx { get; }

    /// <summary>Standard output (buffered).</summary>
    public TextWriter Out => Ctx.Out;

    /// <summary>Standard error.</summary>
    public TextWriter Err => Ctx.Err;

    /// <summary>The open image, or null.</summary>
    public BlockDevice? Device { get; private set; }

    /// <summary>How the open image was opened (for reopen).</summary>
    public OpenRequest? LastOpen { get; private set; }

    /// <summary>Whether qemu-io's block backend still holds the write permission it took at a read-write open (a reopen
    /// with read-only flags drops it for good).</summary>
    public bool BackendWritable { get; set; }

    /// <summary>Records the options of a reopen made in place.</summary>
    public void Reopened(OpenRequest request) => LastOpen = request;

    /// <summary>Whether --image-opts was given.</summary>
    public bool ImageOpts { get; init; }

    /// <summary>Whether --qmp-events was given: engine events are printed on stdout as QMP event lines (qio's own extension; qemu-io has no monitor).</summary>
    public bool PrintEvents { get; init; }

    /// <summary>Set by quit.</summary>
    public bool QuitRequested { get; set; }

    /// <summary>Set by abort and sigraise: the process exit status to end with immediately.</summary>
    public int? KillStatus { get; set; }

    /// <summary>The asynchronous requests in flight.</summary>
    public AioQueue Aio { get; }

    /// <summary>error_report: "qio: message" on stderr.</summary>
    public void ErrorReport(string message) => Err.WriteLine($"{ProgramName}: {message}");

    /// <summary>warn_report: "qio: warning: message" on stderr.</summary>
    public void Warn(string message) => Err.WriteLine($"{ProgramName}: warning: {message}");

    /// <summary>Parses a number argument (cvtnum), printing qemu-io's warning for deprecated hex suffixes.</summary>
    public long Cvtnum(string text)
    {
        var warnings = new List<string>();
        long v = Numbers.Cvtnum(text, warnings);
        foreach (var w in warnings)
        {
            Warn(w);
        }
        return v;
    }

    /// <summary>The negative errno a failed engine call maps to.</summary>
    public static int ErrnoOf(Exception e) => -(int)(e switch
    {
        BlockIOException b => b.Errno,
        CorruptImageException c => c.Errno,
        ImageOpenException o => o.Errno,
        UnauthorizedAccessException => Errno.EACCES,
        _ => Errno.EIO,
    });

    /// <summary>Whether an exception is a request failure the tools report as "... failed: strerror".</summary>
    public static bool IsRequestFailure(Exception e) =>
        e is BlockIOException or CorruptImageException or IOException or UnauthorizedAccessException;

    /// <summary>strerror of a negative errno.</summary>
    public static string StrError(int negativeErrno) => ErrnoText.Of((Errno)(-negativeErrno));

    /// <summary>Runs an engine request; returns 0 or the negative errno it failed with.</summary>
    public static int Try(Action request)
    {
        try
        {
            request();
            return 0;
        }
        catch (Exception e) when (IsRequestFailure(e))
        {
            return ErrnoOf(e);
        }
    }

    /// <summary>Runs one command line (qemuio_command); returns 0 or a negative errno.</summary>
    public int Execute(string line)
    {
        string[] argv = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (argv.Length == 0)
        {
            return 0;
        }
        var ct = CommandTable.Find(argv[0]);
        if (ct is null)
        {
            Err.WriteLine($"command \"{argv[0]}\" not found");
            return -(int)Errno.EINVAL;
        }
        if (ct.Scope == CommandScope.File && Device is null)
        {
            Err.WriteLine("no file open, try 'help open'");
            return -(int)Errno.EINVAL;
        }
        int n = argv.Length - 1;
        if (n < ct.ArgMin || (ct.ArgMax != -1 && n > ct.ArgMax))
        {
            string expected = ct.ArgMax == -1 ? $"at least {ct.ArgMin}"
                : ct.ArgMin == ct.ArgMax ? $"{ct.ArgMin}" : $"between {ct.ArgMin} and {ct.ArgMax}";
            Err.WriteLine($"bad argument count {n} to {argv[0]}, expected {expected} arguments");
            return -(int)Errno.EINVAL;
        }
        if (ct.NeedsWrite && Device is { ReadOnly: true })
        {
            ErrorReport("Block node is read-only");
            return -(int)Errno.EPERM;
        }
        if (ct.NeedsWrite)
        {
            // init_check_command: a command that writes takes the backend's write permission back.
            BackendWritable = true;
        }
        try
        {
            return ct.Run(this, argv);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Commands catch request failures themselves; anything else is a defect, reported without a stack trace.
            ErrorReport($"internal error in '{argv[0]}': {e.GetType().Name}: {e.Message}");
            return -(int)Errno.EIO;
        }
    }

    /// <summary>Opens the image (qemu-io's openfile); prints the error and returns 1 when that fails.</summary>
    public int OpenFile(OpenRequest request)
    {
        if (Device is not null)
        {
            ErrorReport("file open already, try 'help close'");
            return 1;
        }
        string prefix = request.Name is null ? "can't open" : $"can't open device {request.Name}";
        var options = OptionString.ToDictionary(request.Options);
        if (request.ForceShare)
        {
            if (options.TryGetValue("force-share", out var fs) && fs != "on")
            {
                ErrorReport("-U conflicts with image options");
                return 1;
            }
        }
        options.TryGetValue("force-share", out var fsv);
        bool? forceShareOption = Qcow2.Overlap.QemuOptionSyntax.TryParseBool(fsv);
        bool forceShareOn = request.ForceShare || forceShareOption == true;
        if (fsv is null || forceShareOption is not null)
        {
            // A value that is no boolean stays, for the engine to refuse as QEMU does.
            options.Remove("force-share");
        }

        var open = new OpenOptions
        {
            ReadOnly = request.ReadOnly,
            WriteThrough = request.WriteThrough,
            Unmap = request.Unmap,
            RequestSuspended = tag => AioRequest.Current?.NotifySuspended(tag),
            Events = PrintEvents ? e => Out.WriteLine(QmpEventFormat.Format(e, Ctx.Clock.GetUtcNow())) : null,
            Diagnostics = Err,
            ReportPrefix = ProgramName + ": ",
            Messages = Out,
            BaseDirectory = Ctx.CurrentDirectory,
            Clock = Ctx.Clock,
        };
        string? fileName = request.Name;
        if (options.Remove("driver", out var driver))
        {
            open.Format = driver;
        }
        // read-only and node-name stay among the options, whose values the engine checks as QEMU's block layer does.
        if (options.TryGetValue("read-only", out var ro))
        {
            open.ReadOnly |= Qcow2.Overlap.QemuOptionSyntax.TryParseBool(ro) == true;
        }
        if (options.TryGetValue("node-name", out var nodeName))
        {
            open.NodeName = nodeName;
        }
        string? error = ResolveFileName(options, open, forceShareOn, ref fileName);

        if (error is null)
        {
            foreach (var (k, v) in options)
            {
                open.Options[k] = v;
            }
            open.ForceShare = forceShareOn;
            error = OpenDevice(request, open, fileName!);
            if (error is null)
            {
                return 0;
            }
        }
        ErrorReport(request.Reopening ? error! : $"{prefix}: {error}");
        return 1;
    }

    /// <summary>
    /// The file to open, from the command line or the file.filename option, as qemu-io's openfile and the block layer
    /// resolve it; returns the error when the options do not name one file.
    /// </summary>
    private static string? ResolveFileName(Dictionary<string, string> options, OpenOptions open, bool forceShareOn,
        ref string? fileName)
    {
        if (forceShareOn && !open.ReadOnly)
        {
            return "force-share=on can only be used with read-only images";
        }
        else if (fileName is not null)
        {
            if (options.ContainsKey("file.filename") || options.ContainsKey("file"))
            {
                return "Can't specify 'file' and 'filename' options at the same time";
            }
        }
        else if (options.Remove("file.filename", out var ff))
        {
            fileName = ff;
            open.LiteralFileName = true;
        }
        else if (options.TryGetValue("file", out var node))
        {
            return $"Cannot find device='{node}' nor node-name='{node}'";
        }
        else if (options.GetValueOrDefault("file.driver") == "blkdebug" && options.Remove("file.image.filename", out var inner))
        {
            // blkdebug's child named "image" is the image file.
            fileName = inner;
            open.LiteralFileName = true;
            if (options.GetValueOrDefault("file.image.driver") == "file")
            {
                options.Remove("file.image.driver");
            }
        }
        else if (ImageOpener.DescribesNodes(open.Format, options))
        {
            fileName = "";
        }
        else if (open.Format is null)
        {
            return "Must specify either driver or file";
        }
        else
        {
            return ImageOpener.MissingFileError(options);
        }
        return null;
    }

    /// <summary>Opens the device the options describe and keeps it; returns the error message when that fails.</summary>
    private string? OpenDevice(OpenRequest request, OpenOptions open, string fileName)
    {
        try
        {
            Device = request.Snapshot ? OpenTemporaryOverlay(fileName, open) : ImageOpener.Open(fileName, open);
            if (open.Format is null && !open.ReadOnly && !request.Snapshot && Device is RawDevice)
            {
                // raw_open's warning for a probed raw image opened read-write.
                Err.Write($"WARNING: Image format was not specified for '{fileName}' and probing guessed raw.\n"
                    + "         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
                    + "         Specify the 'raw' format explicitly to remove the restrictions.\n");
            }
            LastOpen = request;
            if (!request.Reopening)
            {
                BackendWritable = !open.ReadOnly;
            }
            return null;
        }
        catch (Exception e) when (e is ImageOpenException or CorruptImageException or IOException or UnauthorizedAccessException or BlockIOException)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// qemu-io -s (BDRV_O_SNAPSHOT, bdrv_append_temp_snapshot): the image is opened read-only, as a backing file, under a
    /// temporary qcow2 overlay in $TMPDIR (default /var/tmp) that takes every write; the overlay's file is removed once
    /// open, so its writes go with it when the image is closed or the process ends.
    /// </summary>
    private static BlockDevice OpenTemporaryOverlay(string fileName, OpenOptions open)
    {
        bool readOnly = open.ReadOnly;
        open.ReadOnly = true;
        long size;
        string format;
        using (BlockDevice image = ImageOpener.Open(fileName, open))
        {
            size = image.Size;
            format = image is Qcow2Image ? "qcow2" : "raw";
        }
        string dir = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } t ? t : "/var/tmp";
        string temp = Path.Combine(dir, "vl." + Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal)[..6]);
        Qcow2Image.Create(temp, new Qcow2CreateOptions
        {
            Size = size,
            BackingFile = Path.GetFullPath(fileName, open.BaseDirectory),
            BackingFormat = format,
        });
        try
        {
            return ImageOpener.Open(temp, new OpenOptions
            {
                Format = "qcow2",
                ReadOnly = readOnly,
                WriteThrough = open.WriteThrough,
                Unmap = open.Unmap,
                RequestSuspended = open.RequestSuspended,
                Events = open.Events,
                Diagnostics = open.Diagnostics,
                ReportPrefix = open.ReportPrefix,
                Messages = open.Messages,
                Clock = open.Clock,
            });
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Leaves the image as a killed process does: nothing is flushed or closed cleanly, but the file locks of
    /// the image and its backing chain go away, as the kernel drops them with the dead process's descriptors.</summary>
    public void AbandonFile()
    {
        for (BlockDevice? dev = Device; dev is not null; dev = (dev as Qcow2Image)?.Backing)
        {
            dev.FileLock?.Release();
        }
        Device = null;
    }

    /// <summary>Completes the outstanding requests and closes the image.</summary>
    public void CloseFile()
    {
        Aio.Drain();
        if (Device is not null)
        {
            Try(Device.Dispose);
            Device = null;
        }
    }
}

/// <summary>What to open: a file name (or null when the options name the file), flags and option strings.</summary>
/// <param name="Name">file name as given, or null</param>
/// <param name="ReadOnly">open read-only</param>
/// <param name="ForceShare">-U</param>
/// <param name="Options">the parsed image options in order</param>
internal sealed record OpenRequest(string? Name, bool ReadOnly, bool ForceShare, List<KeyValuePair<string, string>> Options)
{
    /// <summary>Whether the cache mode is writethrough (qemu-io's default): every write is followed by a flush.</summary>
    public bool WriteThrough { get; init; } = true;

    /// <summary>-s: writes go to a temporary overlay and are dropped at close.</summary>
    public bool Snapshot { get; init; }

    /// <summary>BDRV_O_UNMAP: qemu-io sets it unless -d says ignore or off.</summary>
    public bool Unmap { get; init; } = true;

    /// <summary>Whether this open is a reopen, whose errors QEMU prints bare (bdrv_reopen's error, e.g. a lock refused).</summary>
    public bool Reopening { get; init; }
}
