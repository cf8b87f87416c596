namespace Qcow2.Tools.Qimg;

/// <summary>The --output option of qemu-img commands.</summary>
public static class OutputFormat
{
    /// <summary>Whether --output selects JSON; null means human; anything but human or json is qemu-img's error.</summary>
    public static bool IsJson(string? output) => output switch
    {
        null or "human" => false,
        "json" => true,
        _ => throw new QimgException("--output must be used with human or json as argument."),
    };
}
