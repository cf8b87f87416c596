using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qemu's simple progress meter (util/qemu-progress.c) as qemu-img convert -p drives it: "    (P/100%)\r" lines on
/// stdout, each flushed, printed when the value moved by more than the minimum step or is 0 or 100, and a newline at the end.
/// </summary>
public sealed class ConvertProgress
{
    private readonly ToolContext _ctx;
    private readonly bool _enabled;
    private readonly float _minSkip;
    private float _current;
    private float _lastPrint;

    /// <summary>qemu_progress_init: a meter that prints only when enabled.</summary>
    public ConvertProgress(ToolContext ctx, bool enabled, float minSkip)
    {
        _ctx = ctx;
        _enabled = enabled;
        _minSkip = minSkip;
    }

    /// <summary>qemu_progress_print: with max 0 the value is set to delta, otherwise delta percent of max is added.</summary>
    public void Print(float delta, int max)
    {
        if (!_enabled)
        {
            return;
        }
        float current = max == 0 ? delta : _current + delta / 100 * max;
        _current = current;
        // Comparisons with NaN (0 of 0 sectors done) are false, so such a value is never printed, as in C.
        if (current > _lastPrint + _minSkip || current < _lastPrint - _minSkip || current == 0 || current == 100)
        {
            _lastPrint = current;
            _ctx.Out.Write(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"    ({current:F2}/100%)\r"));
            _ctx.Out.Flush();
        }
    }

    /// <summary>qemu_progress_end: ends the meter's line.</summary>
    public void End()
    {
        if (_enabled)
        {
            _ctx.Out.Write("\n");
            _ctx.Out.Flush();
        }
    }
}
