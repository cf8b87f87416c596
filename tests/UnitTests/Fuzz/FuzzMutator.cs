using System.Globalization;
using Qcow2.Tools.Mkimage;

namespace Qcow2.UnitTests.Fuzz;

/// <summary>A seed image: its bytes, its named values and its geometry.</summary>
/// <param name="Name">where it came from ("engine:...", "qemu:...")</param>
/// <param name="Bytes">the image file</param>
/// <param name="Fields">its named values</param>
/// <param name="ClusterSize">its cluster size</param>
internal sealed record FuzzSeed(string Name, byte[] Bytes, List<FuzzField> Fields, long ClusterSize);

/// <summary>
/// Structure-aware mutations: most mutants change one to four named values (header fields, L1/L2/refcount table
/// entries, refcount block entries, snapshot fields) to values chosen to hit limits (0, 1, all ones, 2^63, offsets
/// past the end of the file or of int64, another structure's offset, one more or less than the seed's value, flag
/// bits), some flip raw bytes anywhere in the metadata clusters, and a few cut the file short.
/// </summary>
internal static class FuzzMutator
{
    /// <summary>Makes the mutant of a seed that this random source describes; returns the bytes and what was changed.</summary>
    public static (byte[] Image, string What) Mutate(FuzzSeed seed, Random rng)
    {
        var image = (byte[])seed.Bytes.Clone();
        var what = new List<string>();
        int changes = rng.Next(10) switch { < 6 => 1, < 8 => 2, < 9 => 3, _ => 4 };
        for (int c = 0; c < changes; c++)
        {
            int kind = rng.Next(100);
            if (kind < 85 && seed.Fields.Count > 0)
            {
                var f = seed.Fields[rng.Next(seed.Fields.Count)];
                ulong v = Value(seed, f, rng, image.Length);
                FuzzBits.Write(image, f.Location, v);
                what.Add($"{f.Name}=0x{v:x}");
            }
            else if (kind < 97 && image.Length > 0)
            {
                // A raw byte somewhere in the first clusters, where the metadata of these small images lives.
                int span = (int)Math.Min(image.Length, seed.ClusterSize * 8);
                int at = rng.Next(span);
                byte b = (byte)(1 << rng.Next(8));
                image[at] ^= b;
                what.Add($"byte[0x{at:x}]^=0x{b:x2}");
            }
            else
            {
                long cut = rng.Next(image.Length / (int)Math.Min(seed.ClusterSize, 512) + 1) * Math.Min(seed.ClusterSize, 512);
                image = image.AsSpan(0, (int)Math.Min(cut, image.Length)).ToArray();
                what.Add($"truncate=0x{cut:x}");
            }
        }
        return (image, string.Join(' ', what));
    }

    private static ulong Value(FuzzSeed seed, FuzzField f, Random rng, long fileLength)
    {
        ulong cluster = (ulong)seed.ClusterSize;
        ulong o = f.Original;
        ulong all = f.Location.Bits >= 64 ? ulong.MaxValue : (1UL << f.Location.Bits) - 1;
        ulong v = rng.Next(16) switch
        {
            0 => 0,
            1 => 1,
            2 => all,
            3 => 1UL << (f.Location.Bits - 1),
            4 => o + 1,
            5 => o - 1,
            6 => o ^ (1UL << rng.Next(f.Location.Bits)),
            7 => o * 2,
            8 => o + cluster,
            9 => (ulong)fileLength / cluster * cluster + cluster * (ulong)rng.Next(3),
            10 => 0x7fffffffffff0000,
            11 => 0x8000000000000000 | (o & 0x00fffffffffffe00),
            12 => seed.Fields[rng.Next(seed.Fields.Count)].Original,
            13 => (ulong)rng.NextInt64(0, fileLength * 2) / cluster * cluster | (o & 0x8000000000000001),
            14 => o ^ 0x4000000000000000,
            _ => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 33),
        };
        return v & all;
    }

    /// <summary>The replay line for a mutant: what to set to get it again.</summary>
    public static string Replay(int runSeed, long index) =>
        string.Create(CultureInfo.InvariantCulture, $"FUZZ_SEED={runSeed} FUZZ_REPLAY={index}");

    /// <summary>The random source of one mutant: a function of the run seed and the mutant's index only.</summary>
    public static Random ForMutant(int runSeed, long index) => new(unchecked((int)(runSeed * 1000003L + index * 7919L) ^ (int)(index >> 31)));
}
