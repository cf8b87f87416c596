namespace Qcow2.Tools.Mkimage;

/// <summary>A failed mkimage command; the tool prints "mkimage: " and the message on stderr and exits 1.</summary>
internal sealed class MkimageException(string message) : Exception(message);

/// <summary>
/// A failure that QEMU's iotests qcow2.py reports with a plain line on stdout before exiting with status 1;
/// mkimage prints the same line the same way so that scripts written for qcow2.py see the same output.
/// </summary>
internal sealed class Qcow2PyExitException(string message) : Exception(message);
