using System.Collections.Concurrent;
using System.Text;

namespace Qcow2.Crypto;

/// <summary>
/// The secret objects of a tool run (QEMU's "secret" user-creatable objects under /objects): the tools add them from
/// --object, and an encrypted image looks its passphrase up by id (encrypt.key-secret).
/// </summary>
public static class Secrets
{
    /// <summary>The secrets of the current tool run: each run (in-process runs go in parallel in the tests and the
    /// harness) starts with <see cref="Clear"/> and sees only its own, as each QEMU process does.</summary>
    private static readonly AsyncLocal<ConcurrentDictionary<string, byte[]>> Current = new();

    private static ConcurrentDictionary<string, byte[]> ById => Current.Value ??= new(StringComparer.Ordinal);

    /// <summary>Adds a secret; throws <see cref="ArgumentException"/> with QEMU's message when the id is taken.</summary>
    public static void Add(string id, byte[] value)
    {
        if (!ById.TryAdd(id, value))
        {
            throw new ArgumentException($"attempt to add duplicate property '{id}' to object (type 'container')");
        }
    }

    /// <summary>Starts the current run with no secrets (tests run several tool invocations in one process).</summary>
    public static void Clear() => Current.Value = new(StringComparer.Ordinal);

    /// <summary>The secret's bytes, or null when there is no secret of that id.</summary>
    public static byte[]? Find(string id) => ById.TryGetValue(id, out byte[]? v) ? v : null;

    /// <summary>qcrypto_secret_lookup_as_utf8: the secret as text; throws <see cref="ImageOpenException"/> as QEMU words it.</summary>
    public static string Lookup(string id)
    {
        byte[] v = Find(id) ?? throw new ImageOpenException($"No secret with id '{id}'");
        try
        {
            return new UTF8Encoding(false, true).GetString(v);
        }
        catch (DecoderFallbackException)
        {
            throw new ImageOpenException($"Data from secret {id} is not valid UTF-8");
        }
    }
}
