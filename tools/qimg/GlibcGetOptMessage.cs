namespace Qcow2.Tools.Qimg;

/// <summary>
/// The message glibc's getopt_long prints itself when an option string does not start with ':' (as in qemu-img
/// measure): the first bad option in the arguments, named as glibc names it, with argv[0] as the program name.
/// </summary>
public static class GlibcGetOptMessage
{
    /// <summary>The line getopt would print for the first bad option in args (args[0] is the program name), or null.</summary>
    public static string? FirstError(string[] args, string shortOptions, IReadOnlyList<LongOption> longOptions)
    {
        string program = args[0];
        for (int i = 1; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                return null;
            }
            if (a.Length < 2 || a[0] != '-')
            {
                continue;
            }
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                string body = a[2..];
                int eq = body.IndexOf('=');
                string name = eq >= 0 ? body[..eq] : body;
                LongOption? match = longOptions.FirstOrDefault(l => l.Name == name);
                if (match is null)
                {
                    var candidates = longOptions.Where(l => l.Name.StartsWith(name, StringComparison.Ordinal)).ToList();
                    if (candidates.Count == 0 || name.Length == 0)
                    {
                        return $"{program}: unrecognized option '{a}'";
                    }
                    if (!candidates.All(l => l.Kind == candidates[0].Kind && l.Code == candidates[0].Code))
                    {
                        string all = string.Join(" ", candidates.Select(l => $"'--{l.Name}'"));
                        return $"{program}: option '{a}' is ambiguous; possibilities: {all}";
                    }
                    match = candidates[0];
                }
                if (match.Kind == ArgKind.None && eq >= 0)
                {
                    return $"{program}: option '--{match.Name}' doesn't allow an argument";
                }
                if (match.Kind == ArgKind.Required && eq < 0)
                {
                    if (i + 1 >= args.Length)
                    {
                        return $"{program}: option '--{match.Name}' requires an argument";
                    }
                    i++;
                }
                continue;
            }
            for (int p = 1; p < a.Length; p++)
            {
                char c = a[p];
                int at = c == ':' ? -1 : shortOptions.IndexOf(c);
                if (at < 0)
                {
                    return $"{program}: invalid option -- '{c}'";
                }
                if (at + 1 < shortOptions.Length && shortOptions[at + 1] == ':')
                {
                    if (p + 1 == a.Length)
                    {
                        if (i + 1 >= args.Length)
                        {
                            return $"{program}: option requires an argument -- '{c}'";
                        }
                        i++;
                    }
                    break;
                }
            }
        }
        return null;
    }
}
