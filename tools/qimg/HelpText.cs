using Qcow2.Cli;

namespace Qcow2.Tools.Qimg;

/// <summary>qemu-img's --help text, limited to the commands qimg implements.</summary>
public static class HelpText
{
    /// <summary>The version banner (qemu-img prints its version and copyright lines).</summary>
    public const string Version = "qimg version 7.2.0 (qemu-img 7.2 compatible subset)\n";

    /// <summary>Prints the help to stdout and returns 0, as qemu-img's help() exits successfully.</summary>
    public static int Print(ToolContext ctx)
    {
        var w = ctx.Out;
        w.Write(Version);
        w.Write($"usage: {QimgTool.Name} [standard options] command [command options]\n");
        w.Write("QEMU disk image utility\n");
        w.Write("\n");
        w.Write("    '-h', '--help'       display this help and exit\n");
        w.Write("    '-V', '--version'    output version information and exit\n");
        w.Write("    '-T', '--trace'      [[enable=]<pattern>][,events=<file>][,file=<file>]\n");
        w.Write("                         specify tracing options\n");
        w.Write("\n");
        w.Write("Command syntax:\n");
        foreach (QimgCommand cmd in QimgCommands.All)
        {
            w.Write($"  {cmd.Syntax}\n");
        }
        w.Write("""

            Command parameters:
              'filename' is a disk image filename
              'fmt' is the disk image format. It is guessed automatically in most cases
              'size' is the disk image size in bytes. Optional suffixes
                'k' or 'K' (kilobyte, 1024), 'M' (megabyte, 1024k), 'G' (gigabyte, 1024M),
                'T' (terabyte, 1024G), 'P' (petabyte, 1024T) and 'E' (exabyte, 1024P)  are
                supported. 'b' is ignored.
              'options' is a comma separated list of format specific options in a
                name=value format. Use -o help for an overview of the options supported by
                the used format
              '-u' allows unsafe backing chains. For image creation, allow creating without
                   attempting to open the backing file.
              '-h' with or without a command shows this help and lists the supported formats
              '-q' use Quiet mode - do not print any output (except errors)
              '--output' takes the format in which the output must be done (human or json)

            Supported formats: qcow2 raw

            """);
        return 0;
    }
}
