using System.Globalization;
using System.Text;
using Qcow2.Block;

namespace Qcow2.Tools.Qio;

/// <summary>Formats an engine event as QEMU's monitor prints it: {"timestamp": {...}, "event": NAME, "data": {...}}.</summary>
internal static class QmpEventFormat
{
    /// <summary>One QMP event line.</summary>
    public static string Format(QmpEvent e, DateTimeOffset now)
    {
        long us = now.ToUnixTimeMilliseconds() * 1000 % 1_000_000;
        var sb = new StringBuilder();
        sb.Append("{\"timestamp\": {\"seconds\": ").Append(now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture))
          .Append(", \"microseconds\": ").Append(us.ToString(CultureInfo.InvariantCulture))
          .Append("}, \"event\": ").Append(QJson.Quote(e.Name)).Append(", \"data\": {");
        for (int i = 0; i < e.Data.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }
            sb.Append(QJson.Quote(e.Data[i].Key)).Append(": ").Append(Value(e.Data[i].Value));
        }
        return sb.Append("}}").ToString();
    }

    private static string Value(object? v) => v switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => QJson.Quote(s),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => QJson.Quote(v.ToString() ?? ""),
    };
}
