namespace Qcow2.Overlap;

/// <summary>Which implementation answers overlap checks.</summary>
internal enum OverlapStructuresMode
{
    /// <summary>The series' metadata list (windows, fragment lists, window cache); the default.</summary>
    List,

    /// <summary>Upstream QEMU's linear scan of the metadata tables: the oracle and the benchmark baseline.</summary>
    Scan,
}

/// <summary>The overlap-check image options (QEMU's <c>overlap-check*</c> plus the series' <c>overlap-structures.*</c>), parsed with QEMU's rules and errors.</summary>
/// <remarks>
/// <para>Accepted keys (dotted, as <c>open -o</c> and <c>--image-opts</c> give them):</para>
/// <list type="bullet">
/// <item><c>overlap-check</c> and its alias <c>overlap-check.template</c>: none, constant, cached, all (default cached).</item>
/// <item><c>overlap-check.main-header</c> ... <c>overlap-check.bitmap-directory</c>: QEMU booleans overriding one bit of the template;
/// <c>overlap-check.crypto-header</c> is ours (QEMU 7.2 does not protect the LUKS header).</item>
/// <item><c>overlap-structures.bitmap-size</c>: bytes of window-map cache, a QEMU size; cache slots = size / 4096, at least 1.
/// Default 65536 (16 windows): the series' default was not found, and its iotest comment computes with 65536.</item>
/// <item><c>overlap-structures.total-size-limit</c>: bytes for all list structures together, a QEMU size; default unlimited, as in the series.</item>
/// <item><c>overlap-structures.mode</c>: <c>list</c> (default) or <c>scan</c>; not part of the series, this project's switch between the
/// metadata list and the linear-scan oracle.</item>
/// </list>
/// <para>Validation order follows QEMU 7.2: malformed booleans and sizes first, in QDict order (see <see cref="QemuOptionSyntax"/>),
/// then the template conflict, then the template value, then the mode value.</para>
/// </remarks>
internal sealed class OverlapCheckOptions
{
    /// <summary>Option <c>overlap-check</c>.</summary>
    public const string OverlapCheck = "overlap-check";

    /// <summary>Option <c>overlap-check.template</c>.</summary>
    public const string OverlapCheckTemplate = "overlap-check.template";

    /// <summary>Option <c>overlap-structures.bitmap-size</c>.</summary>
    public const string MapCacheSizeOption = "overlap-structures.bitmap-size";

    /// <summary>Option <c>overlap-structures.total-size-limit</c>.</summary>
    public const string TotalSizeLimitOption = "overlap-structures.total-size-limit";

    /// <summary>Option <c>overlap-structures.mode</c> (this project's list/scan switch).</summary>
    public const string ModeOption = "overlap-structures.mode";

    /// <summary>Default of <c>overlap-structures.bitmap-size</c> in bytes.</summary>
    public const long DefaultMapCacheSize = 65536;

    /// <summary>QEMU's help text of <c>overlap-check</c> and <c>overlap-check.template</c>.</summary>
    public const string TemplateHelp = "Selects which overlap checks to perform from a range of templates (none, constant, cached, all)";

    /// <summary>Every option key this class consumes.</summary>
    public static IReadOnlyList<string> OptionNames { get; } =
        [OverlapCheck, OverlapCheckTemplate, .. OverlapTypeInfo.All.Select(t => t.OptionName), MapCacheSizeOption, TotalSizeLimitOption, ModeOption];

    /// <summary>The structures that are checked (and entered into the metadata list).</summary>
    public OverlapTypes Enabled { get; init; } = OverlapTemplates.Default;

    /// <summary>Bytes of window-map cache (<c>overlap-structures.bitmap-size</c>).</summary>
    public long MapCacheSize { get; init; } = DefaultMapCacheSize;

    /// <summary>Limit in bytes for all metadata-list structures together; null for unlimited.</summary>
    public long? TotalSizeLimit { get; init; }

    /// <summary>Metadata list or linear scan.</summary>
    public OverlapStructuresMode Mode { get; init; } = OverlapStructuresMode.List;

    /// <summary>True when <paramref name="key"/> is one of the options this class consumes.</summary>
    public static bool IsOverlapOption(string key) => OptionNames.Contains(key, StringComparer.Ordinal);

    /// <summary>Parses the overlap options out of the image options (other keys are ignored); throws <see cref="ImageOpenException"/> with QEMU's message.</summary>
    public static OverlapCheckOptions Parse(IEnumerable<KeyValuePair<string, string>> options)
    {
        var given = options.Where(kv => IsOverlapOption(kv.Key)).ToList();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in given)
        {
            values[kv.Key] = kv.Value;
        }

        // 1. Typed values are checked while QEMU absorbs the QDict, in its iteration order.
        var bools = new Dictionary<string, bool>(StringComparer.Ordinal);
        ulong? mapCacheSize = null, totalLimit = null;
        foreach (string key in QemuOptionSyntax.InQdictOrder(values.Keys))
        {
            string v = values[key];
            if (key == MapCacheSizeOption)
            {
                mapCacheSize = QemuOptionSyntax.ParseSize(key, v);
            }
            else if (key == TotalSizeLimitOption)
            {
                totalLimit = QemuOptionSyntax.ParseSize(key, v);
            }
            else if (key != OverlapCheck && key != OverlapCheckTemplate && key != ModeOption)
            {
                bools[key] = QemuOptionSyntax.ParseBool(key, v);
            }
        }

        // 2. The template, its alias and their conflict.
        values.TryGetValue(OverlapCheck, out string? mode);
        values.TryGetValue(OverlapCheckTemplate, out string? template);
        if (mode != null && template != null && mode != template)
        {
            throw new ImageOpenException(
                $"Conflicting values for qcow2 options '{OverlapCheck}' ('{mode}') and '{OverlapCheckTemplate}' ('{template}')");
        }

        string chosen = mode ?? template ?? "cached";
        if (!OverlapTemplates.TryParse(chosen, out OverlapTypes enabled))
        {
            throw new ImageOpenException(
                $"Unsupported value '{chosen}' for qcow2 option '{OverlapCheck}'. Allowed are any of the following: "
                + string.Join(", ", OverlapTemplates.Names));
        }

        // 3. Per-structure overrides of the template's bits.
        foreach (var info in OverlapTypeInfo.All)
        {
            if (bools.TryGetValue(info.OptionName, out bool on))
            {
                enabled = on ? enabled | info.Type : enabled & ~info.Type;
            }
        }

        // 4. This project's list/scan switch, worded like QEMU's enum errors.
        var structuresMode = OverlapStructuresMode.List;
        if (values.TryGetValue(ModeOption, out string? m))
        {
            structuresMode = m switch
            {
                "list" => OverlapStructuresMode.List,
                "scan" => OverlapStructuresMode.Scan,
                _ => throw new ImageOpenException(
                    $"Unsupported value '{m}' for qcow2 option '{ModeOption}'. Allowed are any of the following: list, scan"),
            };
        }

        return new OverlapCheckOptions
        {
            Enabled = enabled,
            MapCacheSize = mapCacheSize is { } b ? ClampToLong(b) : DefaultMapCacheSize,
            TotalSizeLimit = totalLimit is { } t ? ClampToLong(t) : null,
            Mode = structuresMode,
        };
    }

    /// <summary>
    /// Creates the metadata list these options ask for, or null when no list is wanted (<c>overlap-check=none</c> with no bit
    /// re-enabled, as the series skips the list then, or mode <c>scan</c>); throws <see cref="ImageOpenException"/>
    /// (<c>Cannot allocate metadata list</c>) when the limit cannot hold the list.
    /// </summary>
    public MetadataList? CreateMetadataList(int clusterBits, long fileLength, Action<long, long>? memoryLimitReached) =>
        Enabled == OverlapTypes.None || Mode != OverlapStructuresMode.List
            ? null
            : MetadataList.Create(clusterBits, fileLength, MapCacheSize, TotalSizeLimit, Enabled, memoryLimitReached);

    private static long ClampToLong(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;
}
