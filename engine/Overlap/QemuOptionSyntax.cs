using System.Text;
using Qcow2.Options;

namespace Qcow2.Overlap;

/// <summary>QEMU 7.2's parsing of option values (booleans, sizes) and the order in which it validates option dictionaries.</summary>
/// <remarks>
/// QEMU validates the options of a driver while absorbing its QDict, so when several values are malformed the error names
/// the first one in QDict iteration order: buckets <c>tdb_hash(key) % 512</c> in ascending order; keys sharing a bucket
/// come in the order given (checked against qemu-io 7.2 with <c>overlap-check.active-l1</c> and <c>.active-l2</c>,
/// which share bucket 155).
/// </remarks>
public static class QemuOptionSyntax
{
    /// <summary>QDICT_BUCKET_MAX: the number of buckets of QEMU's QDict hash table.</summary>
    public const int QdictBuckets = 512;

    /// <summary>Parses a QEMU boolean (on/yes/true/y, off/no/false/n; case-sensitive) or throws QEMU's error.</summary>
    public static bool ParseBool(string name, string value) =>
        TryParseBool(value) ?? throw new ImageOpenException($"Parameter '{name}' expects 'on' or 'off'");

    /// <summary>A QEMU boolean's value, or null when the text is none.</summary>
    public static bool? TryParseBool(string? value) => value switch
    {
        "on" or "yes" or "true" or "y" => true,
        "off" or "no" or "false" or "n" => false,
        _ => null,
    };

    /// <summary>Parses a QEMU size (qemu_strtosz: decimal or 0x hex, optional fraction, optional B/k/M/G/T/P/E suffix in powers of 1024) or throws QEMU's error.</summary>
    public static ulong ParseSize(string name, string value)
    {
        switch (QemuNumbers.StrToSize(value, out ulong size))
        {
            case QemuNumbers.Status.Ok:
                return size;
            case QemuNumbers.Status.OutOfRange:
                throw new ImageOpenException($"Value '{value}' is out of range for parameter '{name}'");
            default:
                throw new ImageOpenException(
                    $"Parameter '{name}' expects a non-negative number below 2^64\n"
                    + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.");
        }
    }

    /// <summary>The QDict bucket QEMU stores <paramref name="key"/> in (tdb_hash of its UTF-8 bytes modulo 512); the one copy of tdb_hash.</summary>
    public static int QdictBucket(string key)
    {
        // QEMU's tdb_hash: seeded with the length, each byte shifted by (i * 5 % 24), then a linear congruential step.
        byte[] bytes = Encoding.UTF8.GetBytes(key);
        uint value = unchecked(0x238F13AFu * (uint)bytes.Length);
        for (int i = 0; i < bytes.Length; i++)
        {
            value = unchecked(value + ((uint)bytes[i] << (i * 5 % 24)));
        }

        return (int)(unchecked(1103515243u * value + 12345u) % QdictBuckets);
    }

    /// <summary>The keys in the order QEMU iterates its QDict: by bucket, then in the given order (or, for a QDict that was
    /// copied once more, as a reopen's is, the newest first within a bucket).</summary>
    public static IEnumerable<string> InQdictOrder(IEnumerable<string> keys, bool newestFirst = false) =>
        keys.Select((k, i) => (k, i: newestFirst ? -i : i)).OrderBy(p => QdictBucket(p.k)).ThenBy(p => p.i).Select(p => p.k);
}
