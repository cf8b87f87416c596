using System.Buffers.Binary;
using System.Text;

namespace Qcow2.Corpus.Hostile;

/// <summary>One byte range to overwrite in an image.</summary>
/// <param name="Offset">file offset</param>
/// <param name="Data">bytes to write there</param>
public sealed record Poke(long Offset, byte[] Data);

/// <summary>
/// A hostile image: how qemu-img builds it, what QEMU does to it first, which bytes are then overwritten, and which
/// extra commands (besides read 0 512 and info) to compare on it.
/// </summary>
public sealed record HostileImage
{
    /// <summary>Size given to qemu-img create.</summary>
    public string Size { get; init; } = "64M";

    /// <summary>-o options for qemu-img create (empty for the defaults).</summary>
    public string Options { get; init; } = "";

    /// <summary>QEMU commands run on the fresh image before the pokes, as argument lists (the image name is t.img).</summary>
    public string[][] Before { get; init; } = [];

    /// <summary>The pokes, computed from the image once it is built.</summary>
    public Func<string, IEnumerable<Poke>> Pokes { get; init; } = _ => [];

    /// <summary>When set, the file is cut to this length after the pokes.</summary>
    public long? TruncateTo { get; init; }

    /// <summary>When set, the whole file is replaced by these bytes (no qemu-img create).</summary>
    public byte[]? Contents { get; init; }

    /// <summary>Extra commands to compare: tool ("qio" or "qimg") and its arguments.</summary>
    public (string Tool, string[] Args)[] Extra { get; init; } = [];

    /// <summary>When set, replaces the usual commands (read 0 512 probed and with -f qcow2, info human and JSON).</summary>
    public (string Tool, string[] Args)[]? Commands { get; init; }

    /// <summary>
    /// When set, the labels of the only whole-image commands (map, check-r-all, ...: HostileCommandsTests) to compare on
    /// this row: for a row that costs QEMU seconds of CPU on every command that opens it, the ones that treat it
    /// differently (the others open it the same way).
    /// </summary>
    public string[]? WholeImageCommands { get; init; }

    /// <summary>
    /// qemu-img commands (by name, the first argument) whose QEMU run is left out on this row for its cost, where another
    /// command makes QEMU do the same work: our tool still runs them and is held to the robustness checks (no exception,
    /// bounded time and memory, the image unchanged).
    /// </summary>
    public string[] QemuLeftOut { get; init; } = [];

    /// <summary>When QEMU prints something on stderr that this project cannot (yet) print, the reason; stderr is then not compared.</summary>
    public string? StderrDiffers { get; init; }

    /// <summary>When QEMU's answer comes from another driver or feature this project does not implement, the reason; outputs are then not compared for those commands.</summary>
    public string? ProbedDifferently { get; init; }

    /// <summary>When the engine refuses the image with its own message by design, the reason; only robustness is checked.</summary>
    public string? RefusedByDesign { get; init; }

    /// <summary>A big-endian 64-bit value.</summary>
    public static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        return b;
    }

    /// <summary>A big-endian 32-bit value.</summary>
    public static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    /// <summary>A header extension: type, length and data padded to 8 bytes, optionally followed by the end marker.</summary>
    public static byte[] Extension(uint type, byte[] data, bool end = true)
    {
        var b = new List<byte>();
        b.AddRange(U32(type));
        b.AddRange(U32((uint)data.Length));
        b.AddRange(data);
        b.AddRange(new byte[((data.Length + 7) & ~7) - data.Length]);
        if (end)
        {
            b.AddRange(new byte[8]);
        }
        return [.. b];
    }

    /// <summary>A 48-byte feature name table entry.</summary>
    public static byte[] FeatureEntry(byte type, byte bit, string name)
    {
        var b = new byte[48];
        b[0] = type;
        b[1] = bit;
        Encoding.ASCII.GetBytes(name).CopyTo(b, 2);
        return b;
    }

    /// <summary>A big-endian field of the file.</summary>
    public static ulong ReadU64(string path, long offset)
    {
        using var f = File.OpenRead(path);
        var b = new byte[8];
        f.Position = offset;
        f.ReadExactly(b);
        return BinaryPrimitives.ReadUInt64BigEndian(b);
    }
}
