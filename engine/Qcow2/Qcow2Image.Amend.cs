using Qcow2.Format;

namespace Qcow2;

/// <summary>
/// The image options qemu-img amend may set, as given (null where the option was not given); the engine applies
/// them in QEMU's order (qcow2_amend_options).
/// </summary>
public sealed class AmendRequest
{
    /// <summary>The encrypt.* options given, by name without the prefix, as given (null: none given).</summary>
    public IReadOnlyDictionary<string, string>? Encrypt { get; init; }

    /// <summary>--force: keyslot changes may overwrite an active keyslot or erase the last one.</summary>
    public bool Force { get; init; }

    /// <summary>The new virtual size (0 or null: unchanged).</summary>
    public ulong? Size { get; init; }

    /// <summary>compat=: "0.10", "v2", "1.1" or "v3".</summary>
    public string? Compat { get; init; }

    /// <summary>Whether backing_file= was given, and its value.</summary>
    public string? BackingFile { get; init; }

    /// <summary>backing_fmt=.</summary>
    public string? BackingFormat { get; init; }

    /// <summary>data_file=.</summary>
    public string? DataFile { get; init; }

    /// <summary>data_file_raw=.</summary>
    public bool? DataFileRaw { get; init; }

    /// <summary>lazy_refcounts=.</summary>
    public bool? LazyRefcounts { get; init; }

    /// <summary>refcount_bits= as the unsigned number given.</summary>
    public ulong? RefcountBits { get; init; }
}

/// <summary>An amend or resize failure with QEMU's message, its optional hint, and error_report lines printed before it.</summary>
public sealed class ImageChangeException : BlockIOException
{
    private readonly string _message;

    /// <summary>Creates the failure.</summary>
    public ImageChangeException(string message, Errno errno, string? hint = null, IReadOnlyList<string>? reports = null) : base(errno)
    {
        _message = message;
        Hint = hint;
        Reports = reports ?? [];
    }

    /// <inheritdoc/>
    public override string Message => _message;

    /// <summary>Text printed after the message (QEMU's error_append_hint), with its own newlines, or null.</summary>
    public string? Hint { get; }

    /// <summary>Lines QEMU reported (error_report) before the final error.</summary>
    public IReadOnlyList<string> Reports { get; }
}

public sealed partial class Qcow2Image
{
    /// <summary>Lines reported while an amend runs (qcow2_expand_zero_clusters reports a bad snapshot L1 table).</summary>
    private readonly List<string> _amendReports = [];

    private ImageChangeException AmendError(string message, Errno errno, string? hint = null) =>
        new(message, errno, hint, _amendReports.ToList());

    private ImageChangeException AmendError(string prefix, BlockIOException e) =>
        e as ImageChangeException ?? AmendError($"{prefix}: {ErrnoText.Of(e.Errno)}", e.Errno);

    /// <summary>
    /// Changes image options as qemu-img amend does (qcow2_amend_options): upgrade first, then the refcount width,
    /// a header rewrite, lazy refcounts, the size, and a downgrade last. Throws ImageChangeException with QEMU's message.
    /// </summary>
    public void Amend(AmendRequest r, Action<long, long>? status = null)
    {
        ArgumentNullException.ThrowIfNull(r);
        CheckWritable();
        _amendReports.Clear();
        _amendProgress = new AmendProgress(status ?? ((_, _) => { }));
        int oldVersion = (int)_header.Version;
        var (newVersion, lazy, dataFileRaw, refcountBits) = PlanAmend(r);

        _amendProgress.Total = (newVersion != oldVersion ? 1 : 0) + (refcountBits != RefcountBits ? 1 : 0) + (r.Encrypt is null ? 0 : 1);
        if (newVersion > oldVersion)
        {
            _amendProgress.Current = AmendOperation.Upgrading;
            Upgrade();
        }
        if (r.Encrypt is not null)
        {
            // The keyslot change reports no progress of its own, as in QEMU.
            _amendProgress.Current = AmendOperation.UpdatingEncryption;
            AmendEncryption(r.Encrypt, r.Force);
        }
        if (refcountBits != RefcountBits)
        {
            if (newVersion < 3 && refcountBits != 16)
            {
                throw AmendError("Refcount widths other than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)", Errno.EINVAL);
            }
            _amendProgress.Current = AmendOperation.ChangingRefcountOrder;
            ChangeRefcountOrder(System.Numerics.BitOperations.TrailingZeroCount(refcountBits));
        }
        if (dataFileRaw)
        {
            _header.AutoclearFeatures |= Features.AutoclearDataFileRaw;
        }
        else
        {
            _header.AutoclearFeatures &= ~Features.AutoclearDataFileRaw;
        }
        if (r.DataFile is not null)
        {
            // The stored name changes (an empty one removes it); the data file open now stays as it is.
            DataFileName = r.DataFile.Length > 0 ? r.DataFile : null;
        }
        UpdateHeaderOrFail("Failed to update the image header");

        if (r.BackingFile is not null || r.BackingFormat is not null)
        {
            if (r.BackingFile != BackingFileName || r.BackingFormat != BackingFormat)
            {
                throw AmendError("Cannot amend the backing file", Errno.EINVAL, "You can use 'qemu-img rebase' instead.\n");
            }
        }

        AmendLazyRefcounts(lazy, newVersion);

        if (r.Size is ulong size && size != 0)
        {
            // blk_truncate with exact=true and no preallocation; a shrink needs no --shrink here.
            Truncate(unchecked((long)size), "off");
        }

        if (newVersion < oldVersion)
        {
            _amendProgress.Current = AmendOperation.Downgrading;
            Downgrade();
        }
    }

    /// <summary>What the amend options ask for, checked in the order of QEMU's amend option list.</summary>
    private readonly record struct AmendPlan(int Version, bool Lazy, bool DataFileRaw, int RefcountBits);

    /// <summary>The version, lazy refcounts, data-file-raw and refcount width the request asks for; throws for an option QEMU refuses.</summary>
    private AmendPlan PlanAmend(AmendRequest r)
    {
        int newVersion = (int)_header.Version;
        bool lazy = LazyRefcounts;
        bool dataFileRaw = (_header.AutoclearFeatures & Features.AutoclearDataFileRaw) != 0;
        int refcountBits = RefcountBits;

        // The options in the order of QEMU's amend option list.
        if (r.Encrypt is not null)
        {
            CheckEncryptionAmendable();
        }
        if (r.Compat is not null)
        {
            newVersion = r.Compat switch
            {
                "0.10" or "v2" => 2,
                "1.1" or "v3" => 3,
                _ => throw AmendError($"Unknown compatibility level {r.Compat}", Errno.EINVAL),
            };
        }
        if (r.DataFile is not null && !HasDataFile)
        {
            throw AmendError("data-file can only be set for images that use an external data file", Errno.EINVAL);
        }
        if (r.DataFileRaw is bool raw)
        {
            if (raw && !dataFileRaw)
            {
                throw AmendError("data-file-raw cannot be set on existing images", Errno.EINVAL);
            }
            dataFileRaw = raw;
        }
        if (r.LazyRefcounts is bool l)
        {
            lazy = l;
        }
        if (r.RefcountBits is ulong bitsGiven)
        {
            // QEMU stores the number in an int.
            refcountBits = unchecked((int)bitsGiven);
            if (refcountBits <= 0 || refcountBits > 64 || (refcountBits & (refcountBits - 1)) != 0)
            {
                throw AmendError("Refcount width must be a power of two and may not exceed 64 bits", Errno.EINVAL);
            }
        }
        return new AmendPlan(newVersion, lazy, dataFileRaw, refcountBits);
    }

    /// <summary>Turns lazy refcounts on or off as asked; off needs a clean image first (qcow2_mark_clean).</summary>
    private void AmendLazyRefcounts(bool lazy, int newVersion)
    {
        if (LazyRefcounts == lazy)
        {
            return;
        }
        if (lazy)
        {
            if (newVersion < 3)
            {
                throw AmendError("Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)", Errno.EINVAL);
            }
            _header.CompatibleFeatures |= Features.CompatLazyRefcounts;
            UpdateHeaderOrFail("Failed to update the image header");
        }
        else
        {
            MarkCleanOrFail();
            _header.CompatibleFeatures &= ~Features.CompatLazyRefcounts;
            UpdateHeaderOrFail("Failed to update the image header");
        }
    }

    private enum AmendOperation { None, Upgrading, UpdatingEncryption, ChangingRefcountOrder, Downgrading }

    /// <summary>
    /// qcow2_amend_helper_cb: turns each operation's (done, work) into one figure for the whole amend, projecting the
    /// operations not yet started as as large as the ones so far.
    /// </summary>
    private sealed class AmendProgress(Action<long, long> report)
    {
        private int _completed;
        private long _offsetCompleted, _lastWorkSize;
        private AmendOperation _last;

        public int Total { get; set; }

        public AmendOperation Current { get; set; }

        public void Status(long offset, long workSize)
        {
            if (Current != _last)
            {
                if (_last != AmendOperation.None)
                {
                    _offsetCompleted += _lastWorkSize;
                    _completed++;
                }
                _last = Current;
            }
            _lastWorkSize = workSize;
            long currentWork = _offsetCompleted + workSize;
            long projected = currentWork * (Total - _completed - 1) / (_completed + 1);
            report(_offsetCompleted + offset, currentWork + projected);
        }
    }

    private AmendProgress _amendProgress = new((_, _) => { });

    private void UpdateHeaderOrFail(string what)
    {
        try
        {
            UpdateHeader();
        }
        catch (BlockIOException e)
        {
            throw AmendError(what, e);
        }
    }

    /// <summary>Writes the header with a new version; when the write fails the old version stays in memory too.</summary>
    private void SetVersionOrFail(uint version)
    {
        uint old = _header.Version;
        _header.Version = version;
        try
        {
            UpdateHeader();
        }
        catch (BlockIOException e)
        {
            _header.Version = old;
            throw AmendError("Failed to update the image header", e);
        }
    }

    /// <summary>qcow2_mark_clean: flush and clear the dirty bit when it is set.</summary>
    private void MarkCleanOrFail()
    {
        if (!Dirty)
        {
            return;
        }
        try
        {
            MarkClean();
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to make the image clean", e);
        }
    }

    /// <summary>qcow2_upgrade: v3 needs the VM state size and disk size in every snapshot entry, then the header.</summary>
    private void Upgrade()
    {
        _amendProgress.Status(0, 2);
        if (_snapshots.Any(s => s.ExtraDataSize < SnapshotEntry.V3MinExtraSize))
        {
            try
            {
                WriteSnapshots();
            }
            catch (BlockIOException e)
            {
                throw AmendError("Failed to update the snapshot table", e);
            }
        }
        _amendProgress.Status(1, 2);
        SetVersionOrFail(3);
        _amendProgress.Status(2, 2);
    }

    /// <summary>qcow2_downgrade: refuses what version 2 cannot express, then turns zero clusters into data or holes.</summary>
    private void Downgrade()
    {
        if (_refcounts.Order != 4)
        {
            throw AmendError("compat=0.10 requires refcount_bits=16", Errno.ENOTSUP);
        }
        foreach (var sn in _snapshots)
        {
            if (sn.VmStateSize > uint.MaxValue || sn.DiskSize != (ulong)DiskSizeBytes)
            {
                throw AmendError("Internal snapshots prevent downgrade of image", Errno.ENOTSUP);
            }
        }
        MarkCleanOrFail();
        ulong incompat = _header.IncompatibleFeatures & ~Features.IncompatCompression;
        if (incompat != 0)
        {
            throw AmendError($"Cannot downgrade an image with incompatible features 0x{incompat:x} set", Errno.ENOTSUP);
        }
        _header.CompatibleFeatures = 0;
        _header.AutoclearFeatures = 0;
        try
        {
            ExpandZeroClusters();
        }
        catch (RetryAllocation)
        {
            throw AmendError("Failed to turn zero into data clusters: " + ErrnoText.Of(Errno.EAGAIN), Errno.EAGAIN);
        }
        catch (BlockIOException e)
        {
            throw AmendError("Failed to turn zero into data clusters", e);
        }
        if ((_header.IncompatibleFeatures & Features.IncompatCompression) != 0)
        {
            if (HasCompressedClusters())
            {
                throw AmendError("Cannot downgrade an image with zstd compression type and existing compressed clusters", Errno.ENOTSUP);
            }
            _header.IncompatibleFeatures &= ~Features.IncompatCompression;
            _header.CompressionType = 0;
        }
        SetVersionOrFail(2);
    }
}
