using System.Text;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Cli;

/// <summary>Reads user text strictly: invalid UTF-8 and lone surrogates are errors, never U+FFFD.</summary>
static class TextInput
{
    /// <summary>The longest prompt file accepted.</summary>
    public const long MaxFileBytes = 4 << 20;

    /// <summary>The file's text; exit 2 when it is missing, not a regular file, too large or not UTF-8.</summary>
    public static string ReadFile(string path, string option, CancellationToken cancel)
    {
        UserFiles.RequirePathArgument(path, option);
        return UserFiles.ReadAllText(path, option, MaxFileBytes, cancel);
    }

    /// <summary>
    /// Refuses a command-line text that was not valid UTF-8: .NET decodes such bytes to U+FFFD, so
    /// where one appears the raw argument is checked (Linux: /proc/self/cmdline). Lone surrogates are refused too.
    /// </summary>
    public static void RequireArgument(string text, string what)
    {
        if (text.Contains('\uFFFD') && OperatingSystem.IsLinux() && RawArgumentsHaveInvalidUtf8(out int offset, out byte bad))
            throw new SeddException($"{what} is not valid UTF-8 (byte 0x{bad:x2} at offset {offset} of its argument); expected UTF-8 text", SeddException.BadInput);
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(text[i]))
                throw new SeddException($"{what} holds a lone surrogate U+{(int)text[i]:X4} at char {i}; expected well-formed Unicode text", SeddException.BadInput);
        }
    }

    static bool RawArgumentsHaveInvalidUtf8(out int offset, out byte bad)
    {
        (offset, bad) = (0, 0);
        byte[] raw;
        try { raw = File.ReadAllBytes("/proc/self/cmdline"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        var strict = new UTF8Encoding(false, true);
        int start = 0;
        for (int i = 0; i <= raw.Length; i++)
        {
            if (i < raw.Length && raw[i] != 0) continue;
            var arg = raw.AsSpan(start, i - start);
            try { strict.GetCharCount(arg); }
            catch (DecoderFallbackException e)
            {
                offset = Math.Max(0, e.Index);
                bad = offset < arg.Length ? arg[offset] : (byte)0;
                return true;
            }
            start = i + 1;
        }
        return false;
    }
}
