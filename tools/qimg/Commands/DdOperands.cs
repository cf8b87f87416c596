using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qemu-img dd's key=value operands (bs, count, if, of, skip), parsed in order with its messages.</summary>
public sealed class DdOperands
{
    /// <summary>Bytes read and written at a time (bs=, default 512).</summary>
    public long BlockSize { get; private set; } = 512;

    /// <summary>count=: blocks to copy, or null.</summary>
    public long? Count { get; private set; }

    /// <summary>skip=: blocks to skip at the start of the input, or null.</summary>
    public long? Skip { get; private set; }

    /// <summary>if=: the input image, or null.</summary>
    public string? Input { get; private set; }

    /// <summary>of=: the output image, or null.</summary>
    public string? Output { get; private set; }

    /// <summary>Parses the operands; throws qemu-img's message for the first bad one.</summary>
    public static DdOperands Parse(ToolContext ctx, IReadOnlyList<string> operands)
    {
        var dd = new DdOperands();
        Action<string> warn = QimgNumbers.WarnTo(ctx.Err);
        foreach (string operand in operands)
        {
            int eq = operand.IndexOf('=');
            if (eq < 0)
            {
                throw new QimgException($"unrecognized operand {operand}");
            }
            string key = operand[..eq];
            string value = operand[(eq + 1)..];
            switch (key)
            {
                case "bs":
                    dd.BlockSize = QimgNumbers.Cvtnum("bs", value, warn, 1, int.MaxValue);
                    break;
                case "count":
                    dd.Count = QimgNumbers.Cvtnum("count", value, warn);
                    break;
                case "if":
                    dd.Input = value;
                    break;
                case "of":
                    dd.Output = value;
                    break;
                case "skip":
                    dd.Skip = QimgNumbers.Cvtnum("skip", value, warn);
                    break;
                default:
                    throw new QimgException($"unrecognized operand {key}");
            }
        }
        return dd;
    }
}
