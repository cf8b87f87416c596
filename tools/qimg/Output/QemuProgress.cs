using System.Globalization;
using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>
/// qemu-progress's simple printer as qemu_progress_init/print/end drive it: "    (P/100%)\r" whenever the
/// accumulated percentage moved by more than the minimum step (or is 0 or 100), and a newline at the end.
/// </summary>
public sealed class QemuProgress(ToolContext ctx, bool enabled, float minSkip)
{
    private float _current;
    private float _lastPrint;

    /// <summary>qemu_progress_print(delta, max): adds delta percent of max (or sets delta when max is 0) and maybe prints.</summary>
    public void Print(float delta, int max)
    {
        float current = Math.Min(max == 0 ? delta : _current + delta / 100 * max, 100f);
        if (current > _lastPrint + minSkip || current < _lastPrint - minSkip || current == 0 || current == 100)
        {
            _lastPrint = current;
            Show(current);
        }
        _current = current;
    }

    /// <summary>qemu_progress_end: the newline after the last percentage.</summary>
    public void End()
    {
        if (enabled)
        {
            ctx.Out.Write("\n");
        }
    }

    private void Show(float current)
    {
        if (!enabled)
        {
            return;
        }
        // printf's %.2f of a float promoted to double: rounding of the exact value, ties to even.
        long hundredths = (long)Math.Round((double)current * 100, MidpointRounding.ToEven);
        ctx.Out.Write(string.Create(CultureInfo.InvariantCulture, $"    ({hundredths / 100}.{Math.Abs(hundredths % 100):00}/100%)\r"));
        ctx.Out.Flush();
    }
}
