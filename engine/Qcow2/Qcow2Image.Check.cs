using Qcow2.Format;

namespace Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>The mutable counters of one check pass (QEMU's BdrvCheckResult; copied by value like the C struct).</summary>
    private struct CheckTally
    {
        public long Corruptions, Leaks, CheckErrors, CorruptionsFixed, LeaksFixed, ImageEndOffset;
        public long TotalClusters, AllocatedClusters, FragmentedClusters, CompressedClusters;

        public void Add(in CheckTally src, bool allocationInfo)
        {
            Corruptions += src.Corruptions;
            Leaks += src.Leaks;
            CheckErrors += src.CheckErrors;
            CorruptionsFixed += src.CorruptionsFixed;
            LeaksFixed += src.LeaksFixed;
            if (allocationInfo)
            {
                ImageEndOffset = src.ImageEndOffset;
                TotalClusters = src.TotalClusters;
                AllocatedClusters = src.AllocatedClusters;
                FragmentedClusters = src.FragmentedClusters;
                CompressedClusters = src.CompressedClusters;
            }
        }

        public readonly CheckResult ToResult(int ret) => new()
        {
            Corruptions = Corruptions,
            Leaks = Leaks,
            CheckErrors = CheckErrors,
            CorruptionsFixed = CorruptionsFixed,
            LeaksFixed = LeaksFixed,
            ImageEndOffset = ImageEndOffset,
            TotalClusters = TotalClusters,
            AllocatedClusters = AllocatedClusters,
            FragmentedClusters = FragmentedClusters,
            CompressedClusters = CompressedClusters,
            Failure = ret < 0 ? (Errno)(-ret) : null,
        };
    }

    /// <summary>Where the running check prints its stderr lines (QEMU's fprintf(stderr)).</summary>
    private TextWriter _checkOut = TextWriter.Null;

    /// <summary>The one L2 buffer of the running check: every table it walks is read into it (no array per table).</summary>
    private byte[]? _checkL2;

    /// <summary>Reads the L2 table at offset into the check's buffer, valid until the next call.</summary>
    private byte[] ReadCheckL2(long offset)
    {
        _checkL2 ??= new byte[_clusterSize];
        _file.Read(offset, _checkL2);
        return _checkL2;
    }

    /// <summary>Prefix of error_report lines ("qemu-img: " in qemu-img) during the running check.</summary>
    private string _checkReportPrefix = "";

    /// <summary>
    /// Checks the image's metadata and refcounts as qemu-img check does (qcow2_co_check_locked), repairing what fix
    /// allows; the per-item lines go to diagnostics, and error_report lines start with reportPrefix.
    /// Open the image with <see cref="Block.OpenOptions.CheckMode"/> (read-write to repair).
    /// </summary>
    public CheckResult CheckConsistency(CheckRepair fix, TextWriter diagnostics, string reportPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_unusable)
        {
            // bdrv_check on a node whose driver was dropped after a fatal corruption.
            return new CheckResult { Failure = Errno.ENOMEDIUM };
        }
        if (fix != CheckRepair.None && _readOnly)
        {
            throw new InvalidOperationException("qcow2: a repairing check needs an image opened read-write");
        }
        var savedOut = _checkOut;
        var savedPrefix = _checkReportPrefix;
        _checkOut = diagnostics;
        _checkReportPrefix = reportPrefix;
        try
        {
            var result = new CheckTally();
            int ret = CheckLocked(ref result, fix);
            diagnostics.Flush();
            return result.ToResult(ret);
        }
        finally
        {
            _checkOut = savedOut;
            _checkReportPrefix = savedPrefix;
            _checkL2 = null;
        }
    }

    private int CheckLocked(ref CheckTally result, CheckRepair fix)
    {
        var snapshotRes = new CheckTally();
        var refcountRes = new CheckTally();

        int ret = CheckReadSnapshotTable(ref snapshotRes, fix);
        if (ret < 0)
        {
            result.Add(snapshotRes, false);
            return ret;
        }

        ret = CheckRefcounts(ref refcountRes, fix);
        result.Add(refcountRes, true);
        if (ret < 0)
        {
            result.Add(snapshotRes, false);
            return ret;
        }

        ret = CheckFixSnapshotTable(ref snapshotRes, fix);
        result.Add(snapshotRes, false);
        if (ret < 0)
        {
            return ret;
        }

        if (fix != CheckRepair.None && result.CheckErrors == 0 && result.Corruptions == 0)
        {
            return Guard(() =>
            {
                if (Dirty)
                {
                    MarkClean();
                }
                MarkConsistent();
            });
        }
        return ret;
    }

    /// <summary>Runs an engine operation and turns its failure into QEMU's negative errno.</summary>
    private static int Guard(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (BlockIOException e)
        {
            return -(int)e.Errno;
        }
        catch (RetryAllocation)
        {
            return -(int)Errno.EAGAIN;
        }
    }

    private static int Neg(Errno e) => -(int)e;

    private static string StrError(int ret) => ErrnoText.Of((Errno)(-ret));

    /// <summary>fprintf(stderr, ...) during a check.</summary>
    private void CheckPrint(string line) => _checkOut.Write(line + "\n");

    /// <summary>error_report(...) during a check: the program-name prefix, then the message.</summary>
    private void CheckReport(string line) => _checkOut.Write(_checkReportPrefix + line + "\n");

    /// <summary>Repairs a dirty image opened read-write as qcow2_do_open does: check with every fix, fail with the errno.</summary>
    private void RepairDirtyImageByCheck()
    {
        var r = CheckConsistency(CheckRepair.All, _options.Diagnostics, "");
        if (r.Failure is not null || r.CheckErrors != 0)
        {
            var e = r.Failure ?? Errno.EIO;
            throw new ImageOpenException($"Could not repair dirty image: {ErrnoText.Of(e)}", e);
        }
    }
}
