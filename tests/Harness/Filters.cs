using System.Text;
using System.Text.RegularExpressions;

namespace Qcow2.Harness;

/// <summary>
/// The shared named output filters, each doing what its namesake in qemu-iotests' common.filter does.
/// A filter maps the text it reads from a pipe to the text it writes; grep, head and tail take arguments.
/// </summary>
internal static partial class Filters
{
    /// <summary>Names accepted after '|'.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "_filter_testdir", "_filter_imgfmt", "_filter_win32", "_filter_qemu_io", "_filter_qemu_img_check",
        "_filter_qmp", "_filter_img_create", "_filter_img_info", "_filter_qemu_img_map", "_filter_qemu",
        "_filter_generated_node_ids", "grep", "head", "tail",
    ];

    /// <summary>Whether name can follow '|'.</summary>
    public static bool IsFilter(string name) => Names.Contains(name);

    /// <summary>Runs a filter over input; returns its output and exit status (grep: 1 when nothing matched).</summary>
    public static (string Output, int Status) Apply(string name, IReadOnlyList<string> args, string input, ScenarioEnv env) => name switch
    {
        "_filter_testdir" => (TestDir(input, env), 0),
        "_filter_imgfmt" => (ImgFmt(input, env), 0),
        "_filter_win32" => (Win32(input), 0),
        "_filter_qemu_io" => (QemuIo(input), 0),
        "_filter_qemu_img_check" => (QemuImgCheck(input), 0),
        "_filter_qmp" => (Qmp(input), 0),
        "_filter_img_create" => (ImgCreate(input, env), 0),
        "_filter_img_info" => (ImgInfo(input, env), 0),
        "_filter_qemu_img_map" => (QemuImgMap(input, env), 0),
        "_filter_qemu" => (Qemu(input), 0),
        "_filter_generated_node_ids" => (GeneratedNodeIds().Replace(input, "NODE_NAME"), 0),
        "grep" => Grep(args, input),
        "head" => (HeadTail(args, input, head: true), 0),
        "tail" => (HeadTail(args, input, head: false), 0),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown filter"),
    };

    /// <summary>_filter_generated_node_ids: automatically generated node names (#block followed by 3+ digits) become NODE_NAME.</summary>
    [GeneratedRegex(@"#block[0-9]{3,}")]
    private static partial Regex GeneratedNodeIds();

    /// <summary>_filter_testdir: <c>$TEST_DIR/</c> becomes <c>TEST_DIR/</c>.</summary>
    public static string TestDir(string s, ScenarioEnv env) => s.Replace(env.TestDir + "/", "TEST_DIR/", StringComparison.Ordinal);

    /// <summary>_filter_imgfmt: every occurrence of the format name becomes IMGFMT.</summary>
    public static string ImgFmt(string s, ScenarioEnv env) => s.Replace(env.ImgFmt, "IMGFMT", StringComparison.Ordinal);

    /// <summary>_filter_win32: removes carriage returns.</summary>
    public static string Win32(string s) => s.Replace("\r", "", StringComparison.Ordinal);

    /// <summary>_filter_qemu_io: masks the statistics line, 'Killed'/'Aborted' shell noise and the prompt.</summary>
    public static string QemuIo(string s)
    {
        s = Win32(s);
        s = QemuIoStats().Replace(s, "X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)");
        s = ShellKilled().Replace(s, ":$1");
        return s.Replace("qemu-io> ", "", StringComparison.Ordinal);
    }

    /// <summary>_filter_qemu_img_check: drops the allocation statistics and image end lines; maps "does not support checks".</summary>
    public static string QemuImgCheck(string s) => MapLines(s, line =>
        CheckStats().IsMatch(line) || ImageEnd().IsMatch(line)
            ? null
            : line.Replace("qemu-img: This image format does not support checks", "No errors were found on the image.", StringComparison.Ordinal));

    /// <summary>_filter_qmp: masks event timestamps and the QMP greeting.</summary>
    public static string Qmp(string s)
    {
        s = Win32(s);
        s = QmpTimestamp().Replace(s, "$1 TIMESTAMP");
        return MapLines(s, line => QmpGreeting().IsMatch(line) ? "QMP_VERSION" : line);
    }

    /// <summary>_filter_qemu: the program name at the start of a line becomes QEMU_PROG.</summary>
    public static string Qemu(string s) => MapLines(Win32(s), line => QemuProg().Replace(line, "QEMU_PROG:"));

    /// <summary>_filter_img_create: paths and format names masked; of the Formatting line's options only fmt, size, backing*, data_file, encryption and preallocation are kept, in that order.</summary>
    public static string ImgCreate(string s, ScenarioEnv env) => MapLines(s, line =>
    {
        if (!line.StartsWith("Formatting", StringComparison.Ordinal))
        {
            return CreateFilenames(line, env);
        }

        var split = line.IndexOf(", fmt=", StringComparison.Ordinal);
        if (split < 0)
        {
            return CreateFilenames(line, env);
        }

        var head = CreateFilenames(line[..split], env);
        var keepDataFile = !env.ImgOpts.Contains("data_file=", StringComparison.Ordinal);
        var options = OptionStart().Split(line[(split + 2)..])
            .Where(o => o.Length > 0)
            .Select(o => (Rank: CreateOptionRank(o, keepDataFile), Text: CreateFilenames(o, env)))
            .Where(o => o.Rank >= 0)
            .OrderBy(o => o.Rank).ThenBy(o => o.Text, StringComparer.Ordinal)
            .Select(o => o.Text);
        return head + ", " + string.Join(' ', options);
    });

    private static int CreateOptionRank(string option, bool keepDataFile) =>
        option.StartsWith("fmt", StringComparison.Ordinal) ? 0
        : option.StartsWith("size", StringComparison.Ordinal) ? 1
        : option.StartsWith("backing", StringComparison.Ordinal) ? 2
        : keepDataFile && (option.StartsWith("data_file", StringComparison.Ordinal) || option.StartsWith("keep_data_file", StringComparison.Ordinal)) ? 3
        : option.StartsWith("encryption", StringComparison.Ordinal) ? 4
        : option.StartsWith("preallocation", StringComparison.Ordinal) ? 8
        : -1;

    private static string CreateFilenames(string s, ScenarioEnv env) =>
        ImgFmt(s.Replace($"{env.ImgProto}:{env.TestDir}", "TEST_DIR", StringComparison.Ordinal)
                .Replace(env.TestDir, "TEST_DIR", StringComparison.Ordinal), env);

    /// <summary>_filter_img_info: masks paths and format, drops format-specific option lines that vary with IMGOPTS.</summary>
    public static string ImgInfo(string s, ScenarioEnv env) => MapLines(CreateFilenames(s, env), line =>
        ImgInfoDrop().IsMatch(line) ? null : line);

    /// <summary>_filter_qemu_img_map: removes host offsets and file names from map output (human and JSON).</summary>
    public static string QemuImgMap(string s, ScenarioEnv env)
    {
        s = MapLines(s, line => MapOffsets().Replace(line, "$1"));
        s = JsonOffset().Replace(s, "\"offset\": OFFSET");
        s = MappedTo().Replace(s, "");
        return ImgFmt(TestDir(s, env), env);
    }

    private static (string, int) Grep(IReadOnlyList<string> args, string input)
    {
        var invert = false;
        var options = RegexOptions.CultureInvariant;
        var fixedString = false;
        string? pattern = null;
        foreach (var a in args)
        {
            if (pattern is null && a.StartsWith('-') && a.Length > 1)
            {
                foreach (var f in a[1..])
                {
                    switch (f)
                    {
                        case 'v': invert = true; break;
                        case 'i': options |= RegexOptions.IgnoreCase; break;
                        case 'F': fixedString = true; break;
                        case 'E': break;
                        default: throw new ArgumentException($"grep: unsupported option -{f}");
                    }
                }
            }
            else
            {
                pattern = a;
            }
        }

        var re = new Regex(fixedString ? Regex.Escape(pattern ?? "") : BasicToDotNet(pattern ?? ""), options);
        var matched = 0;
        var output = MapLines(input, line =>
        {
            var keep = re.IsMatch(line) != invert;
            matched += keep ? 1 : 0;
            return keep ? line : null;
        });
        return (output, matched > 0 ? 0 : 1);
    }

    /// <summary>Turns the GNU basic-regex spellings \( \) \| \+ \? into .NET ones; other text is taken as .NET syntax.</summary>
    private static string BasicToDotNet(string p) => p
        .Replace(@"\(", "(", StringComparison.Ordinal).Replace(@"\)", ")", StringComparison.Ordinal)
        .Replace(@"\|", "|", StringComparison.Ordinal).Replace(@"\+", "+", StringComparison.Ordinal)
        .Replace(@"\?", "?", StringComparison.Ordinal);

    private static string HeadTail(IReadOnlyList<string> args, string input, bool head)
    {
        var n = 10;
        for (var k = 0; k < args.Count; k++)
        {
            var a = args[k];
            if (a == "-n" && k + 1 < args.Count)
            {
                n = int.Parse(args[++k].TrimStart('+'), System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (a.StartsWith("-n", StringComparison.Ordinal) || (a.StartsWith('-') && a.Length > 1))
            {
                n = int.Parse(a.TrimStart('-', 'n'), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        var lines = SplitKeepingEnds(input);
        var take = head ? lines.Take(n) : lines.Skip(Math.Max(0, lines.Count - n));
        return string.Concat(take);
    }

    /// <summary>Applies f to every line (null deletes it), preserving line ends and a missing final newline.</summary>
    public static string MapLines(string s, Func<string, string?> f)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var piece in SplitKeepingEnds(s))
        {
            var hasNl = piece.EndsWith('\n');
            var mapped = f(hasNl ? piece[..^1] : piece);
            if (mapped is not null)
            {
                sb.Append(mapped);
                if (hasNl)
                {
                    sb.Append('\n');
                }
            }
        }

        return sb.ToString();
    }

    private static List<string> SplitKeepingEnds(string s)
    {
        var list = new List<string>();
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\n')
            {
                list.Add(s[start..(i + 1)]);
                start = i + 1;
            }
        }

        if (start < s.Length)
        {
            list.Add(s[start..]);
        }

        return list;
    }

    [GeneratedRegex(@"[0-9]* ops; [0-9/:. sec]* \([0-9/.inf]* [EPTGMKiBbytes]*/sec and [0-9/.inf]* ops/sec\)")]
    private static partial Regex QemuIoStats();

    [GeneratedRegex(@": line [0-9][0-9]*:  *[0-9][0-9]*( Aborted| Killed)")]
    private static partial Regex ShellKilled();

    [GeneratedRegex(@"allocated.*fragmented.*compressed clusters")]
    private static partial Regex CheckStats();

    [GeneratedRegex(@"Image end offset: [0-9]+")]
    private static partial Regex ImageEnd();

    [GeneratedRegex(@"(""(micro)?seconds"": )[0-9]+")]
    private static partial Regex QmpTimestamp();

    [GeneratedRegex(@"^\{""QMP"":.*\}$")]
    private static partial Regex QmpGreeting();

    [GeneratedRegex(@"^(qemu-img|qemu-io|qemu-system-[a-z0-9_]+|qemu):")]
    private static partial Regex QemuProg();

    [GeneratedRegex(@" (?=[a-z0-9_.-]*=)")]
    private static partial Regex OptionStart();

    [GeneratedRegex(@"^(encrypted: yes|cluster_size: [0-9]+|table_size: [0-9]+|compat: '[^']*'|lazy_refcounts: (on|off)|refcount_bits: [0-9]+)$")]
    private static partial Regex ImgInfoDrop();

    [GeneratedRegex(@"([0-9a-fx]* *[0-9a-fx]* *)[0-9a-fx]* *")]
    private static partial Regex MapOffsets();

    [GeneratedRegex(@"""offset"": [0-9]+")]
    private static partial Regex JsonOffset();

    [GeneratedRegex(@"Mapped to *")]
    private static partial Regex MappedTo();
}
