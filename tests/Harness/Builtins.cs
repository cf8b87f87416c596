using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Qcow2.Harness;

/// <summary>The commands a statement may start with: the tools, shell builtins, and iotests' common.rc helpers.</summary>
internal static partial class Builtins
{
    private static readonly HashSet<string> Commands =
    [
        "qimg", "qio", "mkimage", "echo", "cat", "true", "false", ":", "test", "[", "_make_test_img", "_check_test_img",
        "_img_info", "poke_file", "peek_file_le", "peek_file_be", "truncate", "cp", "rm", "_notrun",
    ];

    /// <summary>Commands the interpreter runs itself, because they change its control flow or variables.</summary>
    public static readonly IReadOnlySet<string> ControlCommands = new HashSet<string>(StringComparer.Ordinal)
    {
        "break", "continue", "return", "local",
    };

    /// <summary>Whether name can start a statement.</summary>
    public static bool IsCommand(string name) => Commands.Contains(name) || ControlCommands.Contains(name);

    /// <summary>The target tool a command runs, if any (helpers run qimg).</summary>
    public static string? ToolOf(string name) => name switch
    {
        "qimg" or "qio" or "mkimage" => name,
        "_make_test_img" or "_check_test_img" or "_img_info" => "qimg",
        _ => null,
    };

    /// <summary>Thrown by _notrun to stop the scenario with a reason.</summary>
    internal sealed class NotRunException(string reason) : Exception(reason);

    /// <summary>Runs a builtin with stdin (a here-document or null); text it prints goes to stdout (chunk IsError=false).</summary>
    public static ToolRun Run(Interpreter it, string name, IReadOnlyList<string> args, string? stdin)
    {
        var env = it.Env;
        switch (name)
        {
            case "true" or ":":
                return Out("");

            case "false":
                return new ToolRun(1, []);

            case "test" or "[":
                return Conditions.Run(name, args, it.PathOf);

            case "cat":
                return Cat(it, args, stdin);

            case "echo":
                return Echo(args);

            case "_make_test_img":
                return MakeTestImg(it, args);

            case "_check_test_img":
            {
                var run = it.RunTool("qimg", ["check", .. args, "-f", env.ImgFmt, env.Get("TEST_IMG") ?? ""], null, merge: true);
                var text = Filters.QemuImgCheck(Filters.TestDir(Concat(run), env));
                return new ToolRun(run.ExitCode, [new OutputChunk(false, text)]);
            }

            case "_img_info":
                return ImgInfo(it, args);

            case "poke_file":
                return PokeFile(it, args);

            case "peek_file_le" or "peek_file_be":
                return PeekFile(it, name, args);

            case "truncate":
                return Truncate(it, args);

            case "cp":
                Expect(args, 2, "cp SRC DST");
                File.Copy(it.PathOf(args[0]), it.PathOf(args[1]), overwrite: true);
                return Out("");

            case "rm":
                return Remove(it, args);

            case "_notrun":
                throw new NotRunException(string.Join(' ', args));

            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "not a builtin");
        }
    }

    /// <summary>echo [-n] WORDS: prints the words, with a newline unless -n.</summary>
    private static ToolRun Echo(IReadOnlyList<string> args)
    {
        var newline = true;
        var words = args.ToList();
        if (words.Count > 0 && words[0] == "-n")
        {
            newline = false;
            words.RemoveAt(0);
        }

        return Out(string.Join(' ', words) + (newline ? "\n" : ""));
    }

    /// <summary>poke_file FILE OFFSET 'BYTES': writes printf-style bytes into the file at the offset.</summary>
    private static ToolRun PokeFile(Interpreter it, IReadOnlyList<string> args)
    {
        Expect(args, 3, "poke_file FILE OFFSET 'BYTES'");
        using var f = new FileStream(it.PathOf(args[0]), FileMode.OpenOrCreate, FileAccess.Write);
        f.Position = Arithmetic.ParseNumber(args[1]);
        f.Write(PrintfBytes(args[2]));
        return Out("");
    }

    /// <summary>peek_file_le/peek_file_be FILE OFFSET WIDTH: prints the integer stored there.</summary>
    private static ToolRun PeekFile(Interpreter it, string name, IReadOnlyList<string> args)
    {
        Expect(args, 3, $"{name} FILE OFFSET WIDTH");
        var width = (int)Arithmetic.ParseNumber(args[2]);
        var buf = new byte[8];
        using var f = File.OpenRead(it.PathOf(args[0]));
        f.Position = Arithmetic.ParseNumber(args[1]);
        f.ReadExactly(buf, name == "peek_file_le" ? 0 : 8 - width, width);
        var v = name == "peek_file_le" ? BinaryPrimitives.ReadUInt64LittleEndian(buf) : BinaryPrimitives.ReadUInt64BigEndian(buf);
        return Out(v.ToString(CultureInfo.InvariantCulture) + "\n");
    }

    /// <summary>truncate -s SIZE FILE: sets the file's length.</summary>
    private static ToolRun Truncate(Interpreter it, IReadOnlyList<string> args)
    {
        if (args.Count != 3 || args[0] != "-s")
        {
            throw new ArgumentException("usage: truncate -s SIZE FILE");
        }

        using var f = new FileStream(it.PathOf(args[2]), FileMode.OpenOrCreate, FileAccess.Write);
        f.SetLength(ParseSize(args[1]));
        return Out("");
    }

    /// <summary>rm [-f] FILE...: deletes the files; a missing one is an error without -f.</summary>
    private static ToolRun Remove(Interpreter it, IReadOnlyList<string> args)
    {
        foreach (var a in args.Where(a => !a.StartsWith('-')))
        {
            var p = it.PathOf(a);
            if (!File.Exists(p) && !args.Contains("-f"))
            {
                return new ToolRun(1, [new OutputChunk(true, $"rm: cannot remove '{a}': No such file or directory\n")]);
            }

            File.Delete(p);
        }

        return Out("");
    }

    /// <summary>cat [FILE...]: prints the files, or stdin without arguments.</summary>
    private static ToolRun Cat(Interpreter it, IReadOnlyList<string> args, string? stdin)
    {
        if (args.Count == 0)
        {
            return Out(stdin ?? "");
        }

        var chunks = new List<OutputChunk>();
        var status = 0;
        foreach (var a in args)
        {
            if (File.Exists(it.PathOf(a)))
            {
                chunks.Add(new OutputChunk(false, File.ReadAllText(it.PathOf(a))));
            }
            else
            {
                chunks.Add(new OutputChunk(true, $"cat: {a}: No such file or directory\n"));
                status = 1;
            }
        }

        return new ToolRun(status, chunks);
    }

    private static ToolRun Out(string text) => new(0, [new OutputChunk(false, text)]);

    private static string Concat(ToolRun run) => string.Concat(run.Chunks.Select(c => c.Text));

    private static void Expect(IReadOnlyList<string> args, int n, string usage)
    {
        if (args.Count != n)
        {
            throw new ArgumentException("usage: " + usage);
        }
    }

    /// <summary>
    /// _make_test_img [-b BACKING] [-o OPTS] [--no-opts] [other qemu-img create args] SIZE: creates $TEST_IMG
    /// with $IMGOPTS and $CLUSTER_SIZE the way common.rc does, printing the filtered Formatting line.
    /// </summary>
    private static ToolRun MakeTestImg(Interpreter it, IReadOnlyList<string> args)
    {
        var env = it.Env;
        var img = env.Get("TEST_IMG") ?? "";
        var opts = new List<string>();
        if (env.ImgOpts.Length > 0)
        {
            opts.Add(env.ImgOpts.Replace("$TEST_IMG", img, StringComparison.Ordinal));
        }

        string? backing = null;
        var misc = new List<string>();
        for (var k = 0; k < args.Count; k++)
        {
            switch (args[k])
            {
                case "-b" when k + 1 < args.Count:
                    backing = args[++k];
                    break;
                case "-o" when k + 1 < args.Count:
                    opts.Add(args[++k]);
                    break;
                case "--no-opts":
                    opts.Clear();
                    break;
                default:
                    misc.Add(args[k]);
                    break;
            }
        }

        if (env.Get("CLUSTER_SIZE") is { Length: > 0 } cs)
        {
            opts.Add("cluster_size=" + cs);
        }

        var create = new List<string> { "create", "-f", env.ImgFmt };
        if (opts.Count > 0)
        {
            create.AddRange(["-o", string.Join(',', opts)]);
        }

        if (backing is not null)
        {
            create.AddRange(["-b", backing]);
        }

        create.Add(img);
        create.AddRange(misc);
        var run = it.RunTool("qimg", create, null, merge: true);
        return new ToolRun(run.ExitCode, [new OutputChunk(false, Filters.ImgCreate(Concat(run), env))]);
    }

    /// <summary>_img_info [--format-specific] [ARGS]: qemu-img info of $TEST_IMG with paths, format, disk size and (unless asked) format-specific data removed.</summary>
    private static ToolRun ImgInfo(Interpreter it, IReadOnlyList<string> args)
    {
        var env = it.Env;
        var formatSpecific = args.Count > 0 && args[0] == "--format-specific";
        var rest = formatSpecific ? args.Skip(1) : args;
        var run = it.RunTool("qimg", ["info", .. rest, env.Get("TEST_IMG") ?? ""], null, merge: true);
        var text = Filters.ImgFmt(Filters.MapLines(Concat(run)
            .Replace($"{env.ImgProto}:{env.TestDir}", "TEST_DIR", StringComparison.Ordinal)
            .Replace(env.TestDir, "TEST_DIR", StringComparison.Ordinal), line => line), env);
        text = CompressionType().Replace(text, "$1COMPRESSION_TYPE");
        var sb = new StringBuilder();
        var discard = 0;
        Regex? end = null;
        foreach (var line in text.Split('\n').SkipLast(text.EndsWith('\n') ? 1 : 0))
        {
            if (line.StartsWith("disk size:", StringComparison.Ordinal) || line.Contains("actual-size", StringComparison.Ordinal))
            {
                continue;
            }

            if (formatSpecific)
            {
                discard = 0;
            }
            else if (line == "Format specific information:")
            {
                discard = 1;
            }
            else if (JsonBlockStart().Match(line) is { Success: true } m)
            {
                discard = 2;
                var close = m.Groups[2].Value == "{" ? @"\}" : @"\]";
                end = new Regex("^" + Regex.Escape(m.Groups[1].Value) + close + ",? *$");
            }

            if (discard == 0)
            {
                sb.Append(line).Append('\n');
            }
            else if (discard == 1 && line.Length == 0)
            {
                sb.Append('\n');
                discard = 0;
            }
            else if (discard == 2 && end!.IsMatch(line))
            {
                discard = 0;
            }
        }

        return Out(sb.ToString());
    }

    /// <summary>Decodes printf-style escapes (\xNN, \NNN octal, \n, \\ ...) to bytes, as poke_file's printf does.</summary>
    public static byte[] PrintfBytes(string s)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 >= s.Length)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
                continue;
            }

            var c = s[++i];
            if (c == 'x')
            {
                var j = i + 1;
                while (j < s.Length && j < i + 3 && Uri.IsHexDigit(s[j]))
                {
                    j++;
                }

                bytes.Add(byte.Parse(s[(i + 1)..j], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                i = j - 1;
            }
            else if (c is >= '0' and <= '7')
            {
                var j = i;
                while (j < s.Length && j < i + 3 && s[j] is >= '0' and <= '7')
                {
                    j++;
                }

                bytes.Add((byte)Convert.ToInt32(s[i..j], 8));
                i = j - 1;
            }
            else
            {
                bytes.Add(c switch { 'n' => 10, 't' => 9, 'r' => 13, '0' => 0, 'a' => 7, 'b' => 8, 'f' => 12, 'v' => 11, _ => (byte)c });
            }
        }

        return [.. bytes];
    }

    /// <summary>Parses a size with an optional binary suffix (K, M, G, T), as truncate -s does.</summary>
    public static long ParseSize(string s)
    {
        var m = SizeSyntax().Match(s);
        if (!m.Success)
        {
            throw new ArgumentException($"invalid size '{s}'");
        }

        var shift = m.Groups[2].Value.ToUpperInvariant() switch { "" => 0, "K" => 10, "M" => 20, "G" => 30, "T" => 40, _ => 50 };
        return Arithmetic.ParseNumber(m.Groups[1].Value) << shift;
    }

    [GeneratedRegex(@"^(0x[0-9a-fA-F]+|[0-9]+)([KMGTPkmgtp]?)$")]
    private static partial Regex SizeSyntax();

    [GeneratedRegex(@"(compression type: )(zlib|zstd)")]
    private static partial Regex CompressionType();

    [GeneratedRegex(@"^( *)""(?:format-specific|children)"": ([\{\[])")]
    private static partial Regex JsonBlockStart();
}
