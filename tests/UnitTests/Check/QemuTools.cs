using System.Buffers.Binary;
using System.Diagnostics;

namespace Qcow2.UnitTests.Check;

/// <summary>Runs the installed qemu-img / qemu-io and pokes bytes into image files, for interop tests.</summary>
internal static class QemuTools
{
    /// <summary>Runs a tool with a timeout; returns exit code and both streams (exit -1 when it is missing).</summary>
    public static (int Code, string Out, string Err) Run(string tool, string dir, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(60_000))
            {
                p.Kill();
                return (-1, "", "timeout");
            }
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, "", tool + " not found");
        }
    }

    /// <summary>Runs a tool and fails the test when it does not exit with 0.</summary>
    public static void Must(string tool, string dir, params string[] args)
    {
        var (code, _, err) = Run(tool, dir, args);
        Assert.That(code, Is.EqualTo(0), $"{tool} {string.Join(' ', args)}: {err}");
    }

    /// <summary>Whether qemu-img can be run.</summary>
    public static bool Available => Run("qemu-img", Path.GetTempPath(), "--version").Code == 0;

    /// <summary>Overwrites bytes of a file in place (printf | dd conv=notrunc).</summary>
    public static void Poke(string path, long offset, byte[] data)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(data);
    }

    /// <summary>Reads bytes of a file.</summary>
    public static byte[] Peek(string path, long offset, int length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
        var b = new byte[length];
        f.Position = offset;
        f.ReadExactly(b);
        return b;
    }

    /// <summary>A big-endian 64-bit value.</summary>
    public static byte[] Be64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        return b;
    }

    /// <summary>A big-endian 32-bit value.</summary>
    public static byte[] Be32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    /// <summary>A big-endian 16-bit value.</summary>
    public static byte[] Be16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    /// <summary>The snapshot table's offset and the first snapshot's L1 offset, read from the header.</summary>
    public static (long TableOffset, long FirstL1Offset) SnapshotTable(string path)
    {
        long table = (long)BinaryPrimitives.ReadUInt64BigEndian(Peek(path, 64, 8));
        long l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(Peek(path, table, 8));
        return (table, l1);
    }
}
