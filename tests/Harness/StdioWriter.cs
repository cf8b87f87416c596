using System.Text;

namespace Qcow2.Harness;

/// <summary>
/// A TextWriter that behaves like a C stdio stream: fully buffered (stdout into a pipe: emits when
/// flushed or when the buffer of BufferSize bytes fills) or unbuffered (stderr: emits every write).
/// </summary>
internal sealed class StdioWriter(bool isError, List<OutputChunk> sink, object gate) : TextWriter
{
    /// <summary>glibc's buffer for a pipe or regular file (st_blksize).</summary>
    public const int BufferSize = 4096;

    private readonly StringBuilder _buffer = new();

    /// <inheritdoc/>
    public override Encoding Encoding => Encoding.UTF8;

    /// <inheritdoc/>
    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string NewLine
    {
        get => "\n";
        set { }
    }

    /// <inheritdoc/>
    public override void Write(char value)
    {
        _buffer.Append(value);
        Drain();
    }

    /// <inheritdoc/>
    public override void Write(string? value)
    {
        _buffer.Append(value);
        Drain();
    }

    /// <inheritdoc/>
    public override void Write(char[] buffer, int index, int count)
    {
        _buffer.Append(buffer, index, count);
        Drain();
    }

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<char> buffer)
    {
        _buffer.Append(buffer);
        Drain();
    }

    /// <inheritdoc/>
    public override void WriteLine(string? value)
    {
        _buffer.Append(value).Append('\n');
        Drain();
    }

    /// <inheritdoc/>
    public override void Flush() => Emit(_buffer.Length);

    private void Drain()
    {
        if (isError)
        {
            Emit(_buffer.Length);
            return;
        }

        while (_buffer.Length >= BufferSize)
        {
            Emit(BufferSize);
        }
    }

    private void Emit(int count)
    {
        if (count == 0)
        {
            return;
        }

        var text = _buffer.ToString(0, count);
        _buffer.Remove(0, count);
        lock (gate)
        {
            sink.Add(new OutputChunk(isError, text));
        }
    }
}
