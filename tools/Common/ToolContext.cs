namespace Qcow2.Cli;

/// <summary>
/// The standard streams and working directory of one tool run. Out is block-buffered as C stdio buffers
/// stdout into a pipe (flushed when the tool calls Flush, when the buffer fills, and at exit);
/// Err is written through. Running the tools in-process with one shared sink therefore interleaves
/// the two streams exactly as qemu-img and qemu-io do when their output goes to a pipe or file.
/// </summary>
public sealed class ToolContext
{
    /// <summary>Creates a context.</summary>
    public ToolContext(TextReader input, TextWriter output, TextWriter error, string currentDirectory)
    {
        In = input;
        Out = output;
        Err = error;
        CurrentDirectory = currentDirectory;
    }

    /// <summary>Standard input.</summary>
    public TextReader In { get; }

    /// <summary>Standard output (buffered; flush where the C tool would fflush).</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error (unbuffered).</summary>
    public TextWriter Err { get; }

    /// <summary>Directory against which relative paths are resolved.</summary>
    public string CurrentDirectory { get; }

    /// <summary>The clock images opened by this run date new snapshots with (the system's, unless a test fixes it).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Resolves a path given on the command line.</summary>
    public string Resolve(string path) => Path.GetFullPath(path, CurrentDirectory);

    /// <summary>A context over the process's console, with stdout buffered when it is redirected.</summary>
    public static ToolContext FromConsole()
    {
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false), 4096)
        {
            AutoFlush = !Console.IsOutputRedirected,
            NewLine = "\n",
        };
        var stderr = new StreamWriter(Console.OpenStandardError(), new System.Text.UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        return new ToolContext(Console.In, stdout, stderr, Environment.CurrentDirectory);
    }

    /// <summary>Runs a tool's entry point over the console and flushes stdout at exit, as C's exit() does.</summary>
    public static int RunOnConsole(Func<string[], ToolContext, int> tool, string[] args)
    {
        var ctx = FromConsole();
        try
        {
            return tool(args, ctx);
        }
        finally
        {
            ctx.Out.Flush();
            ctx.Err.Flush();
        }
    }
}
