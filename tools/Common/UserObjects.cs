using System.Text;
using Qcow2.Crypto;

namespace Qcow2.Cli;

/// <summary>
/// --object as qemu-img and qemu-io take it (user_creatable_add_from_str): "secret" objects are created, with
/// QEMU's checks and messages (crypto/secret.c, crypto/secret_common.c); other types are refused.
/// </summary>
public static class UserObjects
{
    /// <summary>QEMU 7.2's user-creatable object types in qemu-img (the list of --object help).</summary>
    private static readonly string[] QemuTypes =
        ["authz-list", "authz-list-file", "authz-simple", "main-loop", "pr-manager-helper", "secret", "secret_keyring",
         "thread-context", "throttle-group"];

    private static readonly string[] SecretProperties = ["data", "file", "format", "iv", "keyid"];

    /// <summary>Creates the object the text describes; returns an error message (QEMU's text) or null.</summary>
    /// <param name="text">The --object argument.</param>
    /// <param name="tool">The tool's name for refusals of types QEMU has and the tool does not.</param>
    public static string? Add(string text, string tool)
    {
        var pairs = OptionString.Split(text, "qom-type");
        var d = OptionString.ToDictionary(pairs);
        if (!d.TryGetValue("qom-type", out string? type))
        {
            return "Parameter 'qom-type' is missing";
        }
        if (!QemuTypes.Contains(type))
        {
            return $"Parameter 'qom-type' does not accept value '{type}'";
        }
        if (!d.TryGetValue("id", out string? id))
        {
            return "Parameter 'id' is missing";
        }
        if (type != "secret")
        {
            return $"Object type '{type}' is not supported by {tool}";
        }
        return AddSecret(id, d);
    }

    private static string? AddSecret(string id, Dictionary<string, string> d)
    {
        foreach (var key in d.Keys)
        {
            if (key != "qom-type" && key != "id" && !SecretProperties.Contains(key))
            {
                return $"Parameter '{key}' is unexpected";
            }
        }
        string format = d.GetValueOrDefault("format", "raw");
        if (format is not ("raw" or "base64"))
        {
            return $"Parameter 'format' does not accept value '{format}'";
        }
        bool hasData = d.TryGetValue("data", out string? data), hasFile = d.TryGetValue("file", out string? file);
        if (hasData && hasFile)
        {
            return "'file' and 'data' are mutually exclusive";
        }
        if (!hasData && !hasFile)
        {
            return "Either 'file' or 'data' must be provided";
        }
        byte[] raw;
        if (hasFile)
        {
            try
            {
                raw = File.ReadAllBytes(file!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                string why = e is UnauthorizedAccessException ? "Permission denied" : "No such file or directory";
                return $"Unable to read {file}: Failed to open file \u201c{file}\u201d: {why}";
            }
        }
        else
        {
            raw = Encoding.UTF8.GetBytes(data!);
        }
        if (format == "base64")
        {
            string? err = DecodeBase64(ref raw);
            if (err is not null)
            {
                return err;
            }
        }
        if (d.TryGetValue("keyid", out string? keyid))
        {
            return Secrets.Find(keyid) is null
                ? $"No secret with id '{keyid}'"
                : "Secrets encrypted with 'keyid' are not supported by this engine";
        }
        try
        {
            Secrets.Add(id, raw);
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
        return null;
    }

    /// <summary>qbase64_decode: only the base64 alphabet (and padding) is allowed; a short final group is accepted.</summary>
    private static string? DecodeBase64(ref byte[] raw)
    {
        string s = Encoding.ASCII.GetString(raw);
        if (s.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=')))
        {
            return "Base64 data contains invalid characters";
        }
        s = s.TrimEnd('=');
        if (s.Length % 4 == 1)
        {
            s = s[..^1];
        }
        s = s.PadRight((s.Length + 3) / 4 * 4, '=');
        try
        {
            raw = Convert.FromBase64String(s);
            return null;
        }
        catch (FormatException)
        {
            return "Base64 data contains invalid characters";
        }
    }
}
