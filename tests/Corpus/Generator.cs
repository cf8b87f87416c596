namespace Qcow2.Corpus;

/// <summary>Writes the whole corpus, deterministically: the same bytes on every run into the same folder.</summary>
public static class Generator
{
    /// <summary>Every case, in name order.</summary>
    public static IReadOnlyList<CorpusCase> Cases { get; } =
        [.. FormatCases.All().Concat(StructureCases.All()).Concat(ExtendedL2Cases.All())
            .Concat(EncryptionCases.All()).Concat(HostileCases.All()).OrderBy(c => c.Name, StringComparer.Ordinal)];

    /// <summary>The fixed time stamped on snapshots, so that images do not depend on the clock.</summary>
    public static readonly DateTimeOffset SnapshotTime = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>One generation at a time in a process: two generations into one folder would delete each other's files.</summary>
    private static readonly Lock Gate = new();

    /// <summary>Writes the cases whose names match filter (all when null) into dir, replacing earlier files.</summary>
    public static int Generate(string dir, Func<string, bool>? filter, TextWriter log)
    {
        lock (Gate)
        {
            return GenerateNow(dir, filter, log);
        }
    }

    private static int GenerateNow(string dir, Func<string, bool>? filter, TextWriter log)
    {
        Directory.CreateDirectory(dir);
        int n = 0;
        foreach (var c in Cases.Where(c => filter is null || filter(c.Name)))
        {
            File.Delete(Path.Combine(dir, c.ImageFile));
            string side = Path.Combine(dir, c.SideFolder);
            if (Directory.Exists(side))
            {
                Directory.Delete(side, true);
            }
            c.Build(new CaseBuilder(dir, c));
            n++;
        }
        log.WriteLine($"{n} cases written to {dir}");
        return n;
    }
}
