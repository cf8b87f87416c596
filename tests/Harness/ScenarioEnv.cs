namespace Qcow2.Harness;

/// <summary>The variables of one scenario run, with the presets every scenario sees.</summary>
internal sealed class ScenarioEnv
{
    private readonly Dictionary<string, string> _vars = new(StringComparer.Ordinal);

    /// <summary>Creates the presets: TEST_DIR, TEST_IMG, IMGFMT, IMGPROTO, IMGOPTS (compat=1.1 for qcow2) and seq.</summary>
    public ScenarioEnv(string testDir, string seq)
    {
        _vars["TEST_DIR"] = testDir;
        _vars["IMGFMT"] = "qcow2";
        _vars["IMGPROTO"] = "file";
        _vars["TEST_IMG"] = testDir + "/t.qcow2";
        _vars["IMGOPTS"] = "compat=1.1";
        _vars["seq"] = seq;
        _vars["?"] = "0";
    }

    /// <summary>The scenario's directory (no trailing slash).</summary>
    public string TestDir => Get("TEST_DIR") ?? "";

    /// <summary>The image format name (qcow2).</summary>
    public string ImgFmt => Get("IMGFMT") ?? "";

    /// <summary>The protocol name (file).</summary>
    public string ImgProto => Get("IMGPROTO") ?? "";

    /// <summary>Options _make_test_img passes with -o.</summary>
    public string ImgOpts => Get("IMGOPTS") ?? "";

    /// <summary>Exit statuses of the last pipeline's commands.</summary>
    public IReadOnlyList<int> PipeStatus { get; set; } = [0];

    /// <summary>The positional parameters ($1, $2, ...) of the function running now.</summary>
    public IReadOnlyList<string> Positional { get; set; } = [];

    /// <summary>Reads a variable ($?, PIPESTATUS[N], $1..$9, $#, $@ and $* included); null when unset.</summary>
    public string? Get(string name)
    {
        if (name.Length == 1 && name[0] is >= '1' and <= '9')
        {
            return name[0] - '1' < Positional.Count ? Positional[name[0] - '1'] : null;
        }

        if (name is "@" or "*")
        {
            return string.Join(' ', Positional);
        }

        if (name == "#")
        {
            return Positional.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (name.StartsWith("PIPESTATUS[", StringComparison.Ordinal) && name.EndsWith(']'))
        {
            return int.TryParse(name["PIPESTATUS[".Length..^1], out var k) && k >= 0 && k < PipeStatus.Count
                ? PipeStatus[k].ToString(System.Globalization.CultureInfo.InvariantCulture)
                : null;
        }

        return _vars.GetValueOrDefault(name);
    }

    /// <summary>Sets a variable.</summary>
    public void Set(string name, string value) => _vars[name] = value;

    /// <summary>Unsets a variable.</summary>
    public void Unset(string name) => _vars.Remove(name);

    /// <summary>The status of the last statement ($?).</summary>
    public int Status => PipeStatus[^1];

    /// <summary>Records a pipeline's statuses; $? is the last one, as in the shell.</summary>
    public void SetStatus(IReadOnlyList<int> statuses)
    {
        PipeStatus = statuses;
        _vars["?"] = statuses[^1].ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
