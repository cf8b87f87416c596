using Qcow2.Block;
using Qcow2.Crypto;
using Qcow2.Storage;

namespace Qcow2.UnitTests.Engine;

/// <summary>Builds in-memory images for engine tests.</summary>
internal static class EngineFixture
{
    /// <summary>A freshly formatted image in memory, as qemu-img create would lay it out.</summary>
    public static MemoryStorage NewImage(long size, int clusterSize = 65536, int version = 3, int refcountBits = 16)
    {
        var storage = new MemoryStorage();
        Qcow2Image.Format(storage, new Qcow2CreateOptions { Size = size, ClusterSize = clusterSize, Version = version, RefcountBits = refcountBits });
        return storage;
    }

    /// <summary>The secret id and passphrase <see cref="NewLuksImage"/> encrypts with; open with <see cref="LuksOptions"/>.</summary>
    public const string LuksSecretId = "engine-fixture-sec", LuksPassphrase = "123456";

    /// <summary>The image option that names the secret of <see cref="NewLuksImage"/>.</summary>
    public static (string Key, string Value) LuksOptions => ("encrypt.key-secret", LuksSecretId);

    /// <summary>
    /// A LUKS-encrypted image (AES-256-XTS, as qemu-img creates it by default) in memory; the secret is added to the
    /// current run's secrets (they belong to the async flow of the test, so parallel tests do not share them).
    /// </summary>
    public static MemoryStorage NewLuksImage(long size, int clusterSize = 65536)
    {
        if (Secrets.Find(LuksSecretId) is null)
        {
            Secrets.Add(LuksSecretId, System.Text.Encoding.UTF8.GetBytes(LuksPassphrase));
        }
        var storage = new MemoryStorage();
        Qcow2Image.Format(storage, new Qcow2CreateOptions
        {
            Size = size,
            ClusterSize = clusterSize,
            Encryption = new EncryptionCreate("luks", LuksPassphrase, new LuksCipherSpec(256, "xts", "plain64", null, "sha256"), 10),
        });
        return storage;
    }

    /// <summary>Opens a copy-free view of storage as qcow2 with the given image options.</summary>
    public static Qcow2Image Open(MemoryStorage storage, params (string Key, string Value)[] options) => Open(storage, null, options);

    /// <summary>Opens storage as qcow2 with the given image options, sending events to events.</summary>
    public static Qcow2Image Open(MemoryStorage storage, Action<QmpEvent>? events, params (string Key, string Value)[] options)
    {
        var o = new OpenOptions { Format = "qcow2", Events = events, Diagnostics = TestContext.Out };
        foreach (var (k, v) in options)
        {
            o.Options[k] = v;
        }
        return Qcow2Image.Open(new UndisposableStorage(storage), "t.qcow2", o);
    }

    /// <summary>Lets a test reopen the same in-memory store after the image closed it.</summary>
    private sealed class UndisposableStorage(IStorage inner) : IStorage
    {
        public long Length => inner.Length;
        public bool ReadOnly => inner.ReadOnly;
        public void Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);
        public void Write(long offset, ReadOnlySpan<byte> data) => inner.Write(offset, data);
        public void SetLength(long length) => inner.SetLength(length);
        public void Flush() => inner.Flush();
        public void Dispose() { }
    }
}
