using System.Globalization;
using Bogus;

namespace Qcow2.UnitTests.Interop;

/// <summary>
/// Seeded random workloads (writes, zero writes with and without -u, discards, compressed writes onto untouched clusters)
/// run once through qio and once through qemu-io on identical starting images: the report lines, the guest data and the
/// layout (qemu-img map --output=json) are the same, both images pass qemu-img check, and without compressed writes the
/// files are byte-identical. The seed is in every failure message; set QCOW2_INTEROP_SEED to replay another one.
/// </summary>
[TestFixture]
[Category("Interop")]
public class RandomWorkloadTests : InteropFixture
{
    private const int Operations = 60;

    private static IEnumerable<TestCaseData> Cases()
    {
        int seed = 1;
        foreach (int cs in new[] { 512, 4096, 65536, 2 << 20 })
        {
            foreach (string compat in new[] { "0.10", "1.1" })
            {
                foreach (bool compressed in new[] { false, true })
                {
                    yield return new TestCaseData(seed++, cs, compat, compressed, false)
                        .SetName($"Random_workload_matches_qemu(seed {seed - 1}, {cs}, compat={compat}{(compressed ? ", compressed" : "")})");
                }
            }
        }
        foreach (int cs in new[] { 4096, 65536 })
        {
            foreach (string compat in new[] { "0.10", "1.1" })
            {
                yield return new TestCaseData(seed++, cs, compat, false, true)
                    .SetName($"Random_workload_matches_qemu(seed {seed - 1}, {cs}, compat={compat}, over a backing file)");
            }
        }
    }

    /// <summary>The qemu-io commands of one seeded workload.</summary>
    public static List<string> Workload(int seed, int cs, long size, bool compressed)
    {
        var r = new Randomizer(seed);
        long clusters = size / cs;
        var touched = new HashSet<long>();
        var commands = new List<string>();
        while (commands.Count < Operations)
        {
            int kind = r.Number(0, 99);
            if (kind < 10 && compressed)
            {
                // qcow2 refuses compressed writes onto allocated clusters (EIO): aim only at clusters never touched.
                // One cluster per request: qemu-io compresses the clusters of one request in parallel threads and places
                // them in the order they finish, so a multi-cluster request has no deterministic layout to compare.
                long first = r.Long(0, clusters - 1);
                int n = 1;
                r.Number(1, 2);
                if (first + n > clusters || Enumerable.Range(0, n).Any(i => touched.Contains(first + i)))
                {
                    continue;
                }
                for (int i = 0; i < n; i++)
                {
                    touched.Add(first + i);
                }
                commands.Add(Inv($"write -c -P 0x{r.Number(1, 255):x} {first * cs} {n * cs}"));
                continue;
            }
            long offset, length;
            if (r.Bool())
            {
                offset = r.Long(0, clusters - 1) * cs;
                length = r.Number(1, 4) * (long)cs;
            }
            else
            {
                offset = r.Long(0, size - 1);
                length = r.Long(1, 4L * cs);
            }
            length = Math.Min(length, size - offset);
            for (long c = offset / cs; c <= (offset + length - 1) / cs; c++)
            {
                touched.Add(c);
            }
            commands.Add(kind switch
            {
                < 55 => Inv($"write -P 0x{r.Number(1, 255):x} {offset} {length}"),
                < 68 => Inv($"write -z {offset} {length}"),
                < 80 => Inv($"write -z -u {offset} {length}"),
                _ => Inv($"discard {offset} {length}"),
            });
        }
        return commands;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    [TestCaseSource(nameof(Cases))]
    public void Random_workload(int caseSeed, int cs, string compat, bool compressed, bool backing)
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("QCOW2_INTEROP_SEED"), out int s) ? s : caseSeed;
        long size = Math.Max(8L << 20, 16L * cs);
        string options = Inv($"cluster_size={cs},compat={compat}");
        var commands = Workload(seed, cs, size, compressed);
        string context = $"seed {seed}, {options}, compressed={compressed}, backing={backing}";

        if (backing)
        {
            Must("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=64k", "base.qcow2", size.ToString(CultureInfo.InvariantCulture));
            var baseOps = Workload(seed + 1000, 65536, size, compressed: true).Take(20);
            Must("qemu-io", [.. baseOps.SelectMany(c => new[] { "-c", c }), "base.qcow2"]);
            Must("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, "-b", "base.qcow2", "-F", "qcow2", "q.qcow2");
        }
        else
        {
            Must("qemu-img", "create", "-q", "-f", "qcow2", "-o", options, "q.qcow2", size.ToString(CultureInfo.InvariantCulture));
        }
        File.Copy(PathOf("q.qcow2"), PathOf("m.qcow2"));

        string[] args = [.. commands.SelectMany(c => new[] { "-c", c })];
        var theirs = Qemu("qemu-io", null, [.. args, "q.qcow2"]);
        var ours = Qio(null, [.. args, "m.qcow2"]);
        string script = string.Join("\n", commands);
        Assert.That(ours.ExitCode, Is.EqualTo(theirs.ExitCode), $"{context}: exit code\n{ours}\nscript:\n{script}");
        Assert.That(ours.Err, Is.EqualTo(Normalize(theirs.Err)), $"{context}: stderr\nscript:\n{script}");
        Assert.That(Normalize(ours.Out), Is.EqualTo(Normalize(theirs.Out)), $"{context}: stdout\nscript:\n{script}");

        AssertCheckClean("q.qcow2", context);
        AssertCheckClean("m.qcow2", context);
        AssertSameGuest("q.qcow2", "m.qcow2", context);
        string theirMap = Qemu("qemu-img", null, "map", "--output=json", "q.qcow2").Out;
        string ourMap = Qemu("qemu-img", null, "map", "--output=json", "m.qcow2").Out;
        Assert.That(ourMap, Is.EqualTo(theirMap), $"{context}: qemu-img map --output=json\nscript:\n{script}");
        if (!compressed)
        {
            long at = FileBytes.FirstDifference(PathOf("q.qcow2"), PathOf("m.qcow2"));
            Assert.That(at, Is.EqualTo(-1), $"{context}: files differ at byte 0x{at:x} (sizes {new FileInfo(PathOf("m.qcow2")).Length}"
                + $" vs {new FileInfo(PathOf("q.qcow2")).Length})\nscript:\n{script}");
        }
    }
}
