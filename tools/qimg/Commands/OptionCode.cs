namespace Qcow2.Tools.Qimg;

/// <summary>
/// The codes getopt returns for qimg's long options that have no short form: qemu-img.c's single OPTION_* enum,
/// with its values, shared by every command so that one option has one code.
/// </summary>
public static class OptionCode
{
    /// <summary>--output.</summary>
    public const int Output = 256;

    /// <summary>--backing-chain.</summary>
    public const int BackingChain = 257;

    /// <summary>--object.</summary>
    public const int Object = 258;

    /// <summary>--image-opts.</summary>
    public const int ImageOpts = 259;

    /// <summary>--pattern.</summary>
    public const int Pattern = 260;

    /// <summary>--flush-interval.</summary>
    public const int FlushInterval = 261;

    /// <summary>--no-drain.</summary>
    public const int NoDrain = 262;

    /// <summary>--target-image-opts.</summary>
    public const int TargetImageOpts = 263;

    /// <summary>--size.</summary>
    public const int Size = 264;

    /// <summary>--preallocation.</summary>
    public const int Preallocation = 265;

    /// <summary>--shrink.</summary>
    public const int Shrink = 266;

    /// <summary>--salvage.</summary>
    public const int Salvage = 267;

    /// <summary>--target-is-zero.</summary>
    public const int TargetIsZero = 268;

    /// <summary>--add, --remove, --clear, --enable, --disable and --merge: bitmap actions, numbered in that order.</summary>
    public const int FirstBitmapAction = 269;

    /// <summary>How many bitmap actions there are, from <see cref="FirstBitmapAction"/> on.</summary>
    public const int BitmapActionCount = 6;

    /// <summary>--bitmaps.</summary>
    public const int Bitmaps = 275;

    /// <summary>--force.</summary>
    public const int Force = 276;

    /// <summary>--skip-broken-bitmaps.</summary>
    public const int SkipBroken = 277;
}
